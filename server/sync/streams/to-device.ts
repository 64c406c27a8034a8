import type { AppContext } from '../../app-context.ts';
import { oneTimeKeyCounts, unusedFallbackKeyTypes } from '../../e2ee/key-counts.ts';
import { deleteAcknowledgedToDeviceMessages, DEFAULT_TO_DEVICE_BATCH, takeToDeviceMessages } from '../../e2ee/to-device.ts';
import type { StreamProvider } from './provider.ts';

/**
 * The to-device stream: the syncing device's inbox, oldest first, at most
 * DEFAULT_TO_DEVICE_BATCH per response. A message is deleted only once the
 * client comes back with a token past it (it has it then); when more are
 * waiting than one response carries, `next_batch` stops at the last one
 * delivered, so the rest come with the next sync. Also adds the device's key
 * counts, which every response carries but which are not changes.
 */
export const toDeviceProvider: StreamProvider = {
  name: 'to_device',
  latest: (app) => app.e2eeStreams.toDevice.currentPosition(),
  // Messages only; key counts and acknowledgement are in `finish`, for every response.
  dependsOn: ['to_device'],
  async collect(app, request, response) {
    const { userId, deviceId } = request;
    const since = request.since?.to_device ?? 0;
    const page = await takeToDeviceMessages(app.db, userId, deviceId, since, DEFAULT_TO_DEVICE_BATCH + 1, Date.now(), request.upTo.to_device);
    const delivered = page.slice(0, DEFAULT_TO_DEVICE_BATCH);
    if (page.length > delivered.length) response.stoppedAt.set('to_device', delivered[delivered.length - 1].position);
    if (delivered.length > 0) response.sections.set('to_device', { events: delivered.map(({ sender, type, content }) => ({ sender, type, content })) });
  },
  async finish(app, request, response) {
    const { userId, deviceId } = request;
    const since = request.since?.to_device ?? 0;
    if (since > 0 && acknowledgedUpTo(app).get(`${userId}|${deviceId}`) !== since) {
      await deleteAcknowledgedToDeviceMessages(app.db, userId, deviceId, since);
      rememberAcknowledged(app, `${userId}|${deviceId}`, since);
    }
    const [counts, fallbackTypes] = await Promise.all([oneTimeKeyCounts(app.db, userId, deviceId), unusedFallbackKeyTypes(app.db, userId, deviceId)]);
    response.status.set('device_one_time_keys_count', counts);
    response.status.set('device_unused_fallback_key_types', fallbackTypes);
  },
};

/**
 * Per device, the `since` its acknowledged messages were last deleted up to
 * (in this process): a long-poll coming back with the same token has nothing
 * more to delete. Messages are only ever written above visible positions, so
 * nothing at or below a deleted `since` can appear later. Forgetting an entry
 * only costs one more (empty) delete.
 */
const MAX_REMEMBERED_DEVICES = 50_000;
const acknowledged = new WeakMap<AppContext, Map<string, number>>();

function acknowledgedUpTo(app: AppContext): Map<string, number> {
  let byDevice = acknowledged.get(app);
  if (!byDevice) acknowledged.set(app, (byDevice = new Map()));
  return byDevice;
}

function rememberAcknowledged(app: AppContext, device: string, since: number): void {
  const byDevice = acknowledgedUpTo(app);
  byDevice.delete(device);
  byDevice.set(device, since);
  if (byDevice.size > MAX_REMEMBERED_DEVICES) byDevice.delete(byDevice.keys().next().value as string);
}
