import type { StreamProvider } from './provider.ts';
import { emptyTimelinePrevBatch, joinedRoomIds } from './request-scope.ts';

/**
 * Typing notifications, as `m.typing` in each joined room's `ephemeral`: the
 * full list of who types now, for rooms whose list changed since the token
 * (on an initial sync, rooms where someone types). Typing is live state, not
 * history: a list that changed again after `upTo` is sent as it is now, and
 * once more in the next sync, which is harmless.
 */
export const typingProvider: StreamProvider = {
  name: 'typing',
  latest: (app) => app.typing.currentPosition(),
  // Every change of a room's typing list moves the typing stream.
  dependsOn: ['typing'],
  async collect(app, request, response) {
    if (!request.filter.ephemeralTypes('m.typing')) return;
    const since = request.since?.typing;
    for (const roomId of await joinedRoomIds(app, request)) {
      const { userIds, position } = app.typing.typingIn(roomId);
      if (since === undefined ? userIds.length === 0 : position <= since) continue;
      response.joinedRoom(roomId, emptyTimelinePrevBatch(request)).ephemeral.events.push({ type: 'm.typing', content: { user_ids: userIds } });
    }
  },
};
