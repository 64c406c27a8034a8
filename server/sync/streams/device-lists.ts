import { deviceListUpdates } from '../../e2ee/device-list-updates.ts';
import type { StreamProvider } from './provider.ts';
import { membershipRows } from './request-scope.ts';

/**
 * `device_lists` of an incremental sync: whose device keys the client should
 * re-query (`changed`) and whom it may stop tracking (`left`). Membership
 * changes come from the room stream's part of the token, key changes from
 * this stream's part.
 */
export const deviceListsProvider: StreamProvider = {
  name: 'device_lists',
  latest: (app) => app.e2eeStreams.deviceLists.currentPosition(),
  // Joins and leaves in shared encrypted rooms change the lists too.
  dependsOn: ['device_lists', 'room'],
  async collect(app, request, response) {
    if (!request.since) return;
    const updates = await deviceListUpdates(
      app.db,
      request.userId,
      { room: request.since.room, deviceLists: request.since.device_lists },
      { room: request.upTo.room, deviceLists: request.upTo.device_lists },
      () => membershipRows(app, request),
    );
    if (updates.changed.length > 0 || updates.left.length > 0) response.sections.set('device_lists', updates);
  },
};
