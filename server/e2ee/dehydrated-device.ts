import type { AppContext } from '../app-context.ts';
import { removeDevices } from '../accounts/sessions.ts';
import { invalidParam, notFound, tooLarge } from '../errors.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { deviceExists, findDehydratedDevice, insertDehydratedDevice, lockDehydratedDeviceOf } from '../storage/queries/dehydrated-devices.ts';
import { upsertDevice } from '../storage/queries/devices.ts';
import type { JsonObject } from '../storage/tables/e2ee.ts';
import { announceDeviceListChange } from './e2ee-streams.ts';
import { uploadKeys, type KeyUpload } from './key-upload.ts';
import { deleteAcknowledgedToDeviceMessages, DEFAULT_TO_DEVICE_BATCH, takeToDeviceMessages } from './to-device.ts';

/** The client's encrypted pickle of the device; a few KiB in practice. */
export const MAX_DEVICE_DATA_BYTES = 64 * 1024;

export interface DehydratedDeviceUpload extends KeyUpload {
  device_id: string;
  device_data: JsonObject;
  initial_device_display_name?: string;
}

type App = Pick<AppContext, 'db' | 'notifier' | 'e2eeStreams'>;

/**
 * PUT /dehydrated_device (MSC3814): the user's dehydrated device — a device
 * without access token whose keys others encrypt to while the user has no
 * device online. Replaces the previous one (deleted with its keys and inbox).
 * The device ID must not be one of the user's other devices. Its keys are
 * checked as /keys/upload checks them, in the same transaction.
 */
export async function putDehydratedDevice(app: App, userId: string, upload: DehydratedDeviceUpload, now = Date.now()): Promise<{ device_id: string }> {
  if (JSON.stringify(upload.device_data).length > MAX_DEVICE_DATA_BYTES) throw tooLarge(`device_data is larger than ${MAX_DEVICE_DATA_BYTES} bytes`);
  const deviceId = upload.device_id;
  await inTransaction(app.db, async (tx) => {
    const previous = await lockDehydratedDeviceOf(tx, userId);
    if (previous) await removeDevices(tx, userId, [previous.device_id]);
    if (await deviceExists(tx, userId, deviceId)) throw invalidParam(`device_id ${deviceId} is already one of your devices`);
    await upsertDevice(tx, { user_id: userId, device_id: deviceId, display_name: upload.initial_device_display_name ?? null, ip: null, now });
    await insertDehydratedDevice(tx, { user_id: userId, device_id: deviceId, device_data: upload.device_data, created_ts: now });
    await uploadKeys(tx, userId, deviceId, { device_keys: upload.device_keys, one_time_keys: upload.one_time_keys, fallback_keys: upload.fallback_keys }, now);
  });
  await announceDeviceListChange(app, [userId]);
  return { device_id: deviceId };
}

/** GET /dehydrated_device: the device ID and pickle, or 404 M_NOT_FOUND. */
export async function getDehydratedDevice(app: App, userId: string): Promise<{ device_id: string; device_data: JsonObject }> {
  const device = await findDehydratedDevice(app.db, userId);
  if (!device) throw notFound('You have no dehydrated device');
  return device;
}

/** DELETE /dehydrated_device: deletes the device (keys and inbox go with it). */
export async function deleteDehydratedDevice(app: App, userId: string): Promise<{ device_id: string }> {
  const deviceId = await inTransaction(app.db, async (tx) => {
    const device = await lockDehydratedDeviceOf(tx, userId);
    if (!device) throw notFound('You have no dehydrated device');
    await removeDevices(tx, userId, [device.device_id]);
    return device.device_id;
  });
  await announceDeviceListChange(app, [userId]);
  return { device_id: deviceId };
}

const NEXT_BATCH = /^\d{1,15}$/;

/**
 * POST /dehydrated_device/{deviceId}/events: the dehydrated device's to-device
 * messages, oldest first, a page at a time. `next_batch` from the previous
 * page acknowledges (deletes) what that page delivered; an empty page ends it.
 */
export async function dehydratedDeviceEvents(app: App, userId: string, deviceId: string, nextBatch: string | undefined) {
  const device = await findDehydratedDevice(app.db, userId);
  if (!device || device.device_id !== deviceId) throw notFound(`${deviceId} is not your dehydrated device`);
  if (nextBatch !== undefined && !NEXT_BATCH.test(nextBatch)) throw invalidParam('next_batch is not a token this endpoint issued');
  const after = nextBatch === undefined ? 0 : Number(nextBatch);
  if (after > 0) await deleteAcknowledgedToDeviceMessages(app.db, userId, deviceId, after);
  const messages = await takeToDeviceMessages(app.db, userId, deviceId, after, DEFAULT_TO_DEVICE_BATCH);
  const last = messages.length > 0 ? messages[messages.length - 1].position : after;
  return { events: messages.map(({ sender, type, content }) => ({ sender, type, content })), next_batch: String(last) };
}
