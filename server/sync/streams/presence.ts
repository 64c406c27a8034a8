import { presenceContent } from '../../accounts/presence.ts';
import { peerPresenceBetween } from '../../storage/queries/presence.ts';
import type { StreamProvider } from './provider.ts';

/**
 * The presence stream: `presence` with an m.presence event for the user and
 * each user sharing a joined room with them, on an initial sync every known
 * one, on an incremental sync those whose presence changed since the token.
 */
export const presenceProvider: StreamProvider = {
  name: 'presence',
  latest: (app) => app.presenceStream.currentPosition(),
  // Only presence changes in the range are sent (a new room peer's older presence is not), so memberships alone add nothing.
  dependsOn: ['presence'],
  async collect(app, request, response) {
    if (!request.filter.presenceTypes('m.presence')) return;
    const rows = await peerPresenceBetween(app.db, request.userId, request.since?.presence, request.upTo.presence);
    if (rows.length === 0) return;
    const now = Date.now();
    response.sections.set('presence', { events: rows.map((row) => ({ type: 'm.presence', sender: row.user_id, content: presenceContent(row, now) })) });
  },
};
