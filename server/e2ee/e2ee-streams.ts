import type { AppContext } from '../app-context.ts';
import type { Db } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { createSerialisedStream, type SerialisedStream } from '../sync/serialised-stream.ts';
import { currentDeviceListPosition, recordDeviceListChange } from './device-list-stream.ts';
import { usersSharingRoomsWith } from './device-list-updates.ts';
import { currentToDevicePosition, type ToDeviceSent } from './to-device.ts';

/** What /sync may read of the two E2EE streams; writers advance them after commit. */
export interface E2eeStreams {
  toDevice: SerialisedStream;
  deviceLists: SerialisedStream;
}

/** Both streams start at their head in the database, so tokens stay valid across restarts. */
export async function createE2eeStreams(db: Db): Promise<E2eeStreams> {
  return {
    toDevice: createSerialisedStream(await currentToDevicePosition(db)),
    deviceLists: createSerialisedStream(await currentDeviceListPosition(db)),
  };
}

type StreamsApp = Pick<AppContext, 'db' | 'notifier' | 'e2eeStreams'>;

/** After a sendToDevice committed: the messages become readable and each recipient device's long-polls wake. */
export function announceToDeviceSent(app: StreamsApp, sent: ToDeviceSent): void {
  if (sent.recipients.length === 0) return;
  app.e2eeStreams.toDevice.advance(sent.position);
  for (const { userId, deviceId } of sent.recipients) app.notifier.touch('to_device', [userId], sent.position, deviceId);
}

/**
 * After a transaction that recorded device-list changes for `userIds`
 * committed: the change becomes readable, and the long-polls of everyone who
 * hears about those users (room peers, and the users themselves) wake.
 */
export async function announceDeviceListChange(app: StreamsApp, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const position = await currentDeviceListPosition(app.db);
  app.e2eeStreams.deviceLists.advance(position);
  const interested = new Set<string>();
  for (const userId of new Set(userIds)) for (const peer of await usersSharingRoomsWith(app.db, userId)) interested.add(peer);
  app.notifier.touch('device_lists', interested, position);
}

/** A change outside the key endpoints (a device renamed): record it in its own transaction, then announce it. */
export async function noteDeviceListChange(app: StreamsApp, userIds: string[]): Promise<void> {
  await inTransaction(app.db, (tx) => recordDeviceListChange(tx, userIds));
  await announceDeviceListChange(app, userIds);
}
