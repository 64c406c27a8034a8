import type { AppContext } from '../app-context.ts';
import type { Db } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { createSerialisedStream, type SerialisedStream } from '../sync/serialised-stream.ts';
import { currentDeviceListPosition, recordDeviceListChange } from './device-list-stream.ts';
import { usersSharingRoomsWith } from './device-list-updates.ts';
import { currentToDevicePosition, type ToDeviceSent } from './to-device.ts';

/** A committed E2EE stream change: its position and whom it wakes (to-device: exact devices). */
export type E2eeAnnouncement =
  | { stream: 'to_device'; position: number; devices: { userId: string; deviceId: string }[] }
  | { stream: 'device_lists'; position: number; users: string[] };

/** What /sync may read of the two E2EE streams; writers advance them after commit. */
export interface E2eeStreams {
  toDevice: SerialisedStream;
  deviceLists: SerialisedStream;
  /** Called with each change this process committed, after it is readable here (to tell other processes). */
  onLocalAnnounce(listener: (announcement: E2eeAnnouncement) => void): void;
  /** Makes a change readable and wakes whom it concerns: one this process wrote (`local`), or another announced. */
  apply(announcement: E2eeAnnouncement, notifier: AppContext['notifier'], local: boolean): void;
  /** Advances both to what Postgres holds (every writer holds the stream lock to commit): recovers lost announcements. */
  catchUp(): Promise<void>;
}

/**
 * Both streams start at their head in the database, so tokens stay valid across restarts.
 * Their writers hold a stream-wide Postgres advisory lock from allocating to commit (see
 * storage/queries/to-device.ts and device-list-changes.ts), in every process, so a position
 * announced committed by any process has everything below it committed: advancing to it is sound.
 */
export async function createE2eeStreams(db: Db): Promise<E2eeStreams> {
  const toDevice = createSerialisedStream(await currentToDevicePosition(db));
  const deviceLists = createSerialisedStream(await currentDeviceListPosition(db));
  const listeners = new Set<(announcement: E2eeAnnouncement) => void>();
  return {
    toDevice,
    deviceLists,
    onLocalAnnounce(listener) {
      listeners.add(listener);
    },
    apply(announcement, notifier, local) {
      if (announcement.stream === 'to_device') {
        toDevice.advance(announcement.position);
        for (const { userId, deviceId } of announcement.devices) notifier.touch('to_device', [userId], announcement.position, deviceId);
      } else {
        deviceLists.advance(announcement.position);
        notifier.touch('device_lists', announcement.users, announcement.position);
      }
      if (local) for (const listener of listeners) listener(announcement);
    },
    async catchUp() {
      toDevice.advance(await currentToDevicePosition(db));
      deviceLists.advance(await currentDeviceListPosition(db));
    },
  };
}

type StreamsApp = Pick<AppContext, 'db' | 'notifier' | 'e2eeStreams'>;

/** After a sendToDevice committed: the messages become readable and each recipient device's long-polls wake. */
export function announceToDeviceSent(app: StreamsApp, sent: ToDeviceSent): void {
  if (sent.recipients.length === 0) return;
  app.e2eeStreams.apply({ stream: 'to_device', position: sent.position, devices: sent.recipients }, app.notifier, true);
}

/**
 * After a transaction that recorded device-list changes for `userIds`
 * committed: the change becomes readable, and the long-polls of everyone who
 * hears about those users (room peers, and the users themselves) wake.
 */
export async function announceDeviceListChange(app: StreamsApp, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const position = await currentDeviceListPosition(app.db);
  const interested = new Set<string>();
  for (const userId of new Set(userIds)) for (const peer of await usersSharingRoomsWith(app.db, userId)) interested.add(peer);
  app.e2eeStreams.apply({ stream: 'device_lists', position, users: [...interested] }, app.notifier, true);
}

/** A change outside the key endpoints (a device renamed): record it in its own transaction, then announce it. */
export async function noteDeviceListChange(app: StreamsApp, userIds: string[]): Promise<void> {
  await inTransaction(app.db, (tx) => recordDeviceListChange(tx, userIds));
  await announceDeviceListChange(app, userIds);
}
