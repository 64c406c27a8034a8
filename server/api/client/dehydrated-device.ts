import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { MAX_DEVICE_ID_LENGTH, MAX_DEVICE_NAME_LENGTH } from '../../accounts/sessions.ts';
import { DeviceKeys, KeyObject } from '../../e2ee/key-json.ts';
import { dehydratedDeviceEvents, deleteDehydratedDevice, getDehydratedDevice, putDehydratedDevice } from '../../e2ee/dehydrated-device.ts';

/** MSC3814 as current clients (matrix-js-sdk, the Rust SDK) call it. */
const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';
/** Device keys, a pickle and tens of one-time keys. */
const MAX_DEHYDRATED_DEVICE_BYTES = 2 * 1024 * 1024;

const PutBody = z.looseObject({
  device_id: z.string().min(1).max(MAX_DEVICE_ID_LENGTH),
  device_data: z.looseObject({}),
  initial_device_display_name: z.string().max(MAX_DEVICE_NAME_LENGTH).optional(),
  device_keys: DeviceKeys.optional(),
  one_time_keys: z.record(z.string(), KeyObject).optional(),
  fallback_keys: z.record(z.string(), KeyObject).optional(),
});
const EventsParams = z.object({ deviceId: z.string().min(1).max(MAX_DEVICE_ID_LENGTH) });
const EventsBody = z.looseObject({ next_batch: z.string().max(64).optional() });

export function mountDehydratedDevice(router: Router, app: AppContext): void {
  /** PUT …/dehydrated_device — creates (replacing any previous) the caller's dehydrated device with its keys. */
  route(
    router,
    app,
    { method: 'PUT', path: `${PREFIX}/dehydrated_device`, auth: 'user', body: PutBody, maxBodyBytes: MAX_DEHYDRATED_DEVICE_BYTES },
    ({ app, caller, body }) => putDehydratedDevice(app, caller.userId, body),
  );

  /** GET …/dehydrated_device — its device ID and pickle; 404 M_NOT_FOUND when there is none. */
  route(router, app, { method: 'GET', path: `${PREFIX}/dehydrated_device`, auth: 'user' }, ({ app, caller }) => getDehydratedDevice(app, caller.userId));

  /** DELETE …/dehydrated_device — deletes it; 404 M_NOT_FOUND when there is none. */
  route(router, app, { method: 'DELETE', path: `${PREFIX}/dehydrated_device`, auth: 'user' }, ({ app, caller }) => deleteDehydratedDevice(app, caller.userId));

  /** POST …/dehydrated_device/{deviceId}/events — its to-device messages, a page at a time; `next_batch` acknowledges. */
  route(
    router,
    app,
    { method: 'POST', path: `${PREFIX}/dehydrated_device/:deviceId/events`, auth: 'user', params: EventsParams, body: EventsBody },
    ({ app, caller, params, body }) => dehydratedDeviceEvents(app, caller.userId, params.deviceId, body.next_batch),
  );
}
