import type { Queryable, Tx } from '../storage/database.ts';
import { insertDeviceListChanges, maxDeviceListPosition, usersChangedBetween } from '../storage/queries/device-list-changes.ts';

/**
 * The device-list stream: one row per change of a user's device list (device
 * keys uploaded, a device deleted, master or self-signing key changed, a
 * signature added). `/keys/changes` and /sync's `device_lists.changed` read it.
 *
 * Positions are integers; /sync tokens carry this stream's position as their
 * `device_lists` part, and `/keys/changes` takes those tokens.
 */

/** Records that the device lists of `userIds` changed. Call inside the writing transaction, last. */
export async function recordDeviceListChange(tx: Tx, userIds: string[], now = Date.now()): Promise<void> {
  await insertDeviceListChanges(tx, userIds, now);
}

/** The highest committed position; every row at or below it is visible (see the stream lock). */
export async function currentDeviceListPosition(db: Queryable): Promise<number> {
  return maxDeviceListPosition(db);
}

/** Which of `userIds` changed after `fromPosition`, up to and including `toPosition`. */
export async function deviceListChangesSince(db: Queryable, userIds: string | string[], fromPosition: number, toPosition: number): Promise<string[]> {
  return usersChangedBetween(db, Array.isArray(userIds) ? userIds : [userIds], fromPosition, toPosition);
}
