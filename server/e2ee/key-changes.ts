import type { Queryable } from '../storage/database.ts';
import type { StreamToken } from '../sync/stream-token.ts';
import { deviceListUpdates, type DeviceListUpdates } from './device-list-updates.ts';

/**
 * GET /keys/changes?from&to: `from` and `to` are /sync `next_batch` tokens.
 * The same answer /sync's `device_lists` gives between those two tokens.
 */
export async function keyChanges(db: Queryable, viewer: string, from: StreamToken, to: StreamToken): Promise<DeviceListUpdates> {
  return deviceListUpdates(db, viewer, { room: from.room, deviceLists: from.device_lists }, { room: to.room, deviceLists: to.device_lists });
}
