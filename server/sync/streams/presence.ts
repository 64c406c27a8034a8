import { presenceContent } from '../../accounts/presence.ts';
import { joinedMembersOfRooms, memberChangesBetween } from '../../storage/queries/encrypted-rooms.ts';
import { peerPresenceBetween, presenceOfUsers } from '../../storage/queries/presence.ts';
import type { AppContext } from '../../app-context.ts';
import type { PresenceRow } from '../../storage/tables/user-data.ts';
import type { StreamProvider, SyncRequest } from './provider.ts';
import { joinedRoomIds } from './request-scope.ts';

/**
 * The presence stream: `presence` with an m.presence event for the user and
 * each user sharing a joined room with them, on an initial sync every known
 * one, on an incremental sync those whose presence changed since the token
 * and those newly sharing a room with the user (a member who joined one of
 * the user's rooms, every member of a room the user joined), whose presence
 * the client has not been told yet (as Synapse does; Complement's TestSync
 * checks both).
 */
export const presenceProvider: StreamProvider = {
  name: 'presence',
  latest: (app) => app.presenceStream.currentPosition(),
  // Joins (room stream) bring new peers whose current presence is sent once.
  dependsOn: ['presence', 'room'],
  async collect(app, request, response) {
    if (!request.filter.presenceTypes('m.presence')) return;
    const changed = request.since?.presence === request.upTo.presence ? [] : await peerPresenceBetween(app.db, request.userId, request.since?.presence, request.upTo.presence);
    const seen = new Set(changed.map((row) => row.user_id));
    const newPeers = (await newlySharedUsers(app, request)).filter((userId) => !seen.has(userId));
    const rows: PresenceRow[] = [...changed, ...(await presenceOfUsers(app.db, newPeers, request.upTo.presence))];
    if (rows.length === 0) return;
    const now = Date.now();
    response.sections.set('presence', { events: rows.map((row) => ({ type: 'm.presence', sender: row.user_id, content: presenceContent(row, now) })) });
  },
};

/** Users who began sharing a joined room with the user in the sync's room-event range (never the user). */
async function newlySharedUsers(app: AppContext, request: SyncRequest): Promise<string[]> {
  if (!request.since || request.since.room >= request.upTo.room) return [];
  const joined = await joinedRoomIds(app, request);
  const joins = (await memberChangesBetween(app.db, joined, request.since.room, request.upTo.room)).filter((change) => change.membership === 'join');
  if (joins.length === 0) return [];
  const users = new Set<string>();
  const roomsJoinedByViewer = [...new Set(joins.filter((change) => change.user_id === request.userId).map((change) => change.room_id))];
  for (const change of joins) if (change.user_id !== request.userId) users.add(change.user_id);
  for (const members of (await joinedMembersOfRooms(app.db, roomsJoinedByViewer)).values()) for (const userId of members) users.add(userId);
  users.delete(request.userId);
  return [...users];
}
