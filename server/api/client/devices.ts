import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { notFound } from '../../errors.ts';
import { Reply, route } from '../../http/route.ts';
import { createAppserviceDevice, managesDevices } from '../../appservices/appservice-devices.ts';
import { MAX_DEVICE_ID_LENGTH, MAX_DEVICE_NAME_LENGTH, removeDevices } from '../../accounts/sessions.ts';
import { finishUia, requireUia, UiaAuth } from '../../accounts/uia.ts';
import { findDevice, listDevices, setDeviceDisplayName } from '../../storage/queries/devices.ts';
import type { DeviceRow } from '../../storage/tables/devices.ts';
import { announceDeviceListChange, noteDeviceListChange } from '../../e2ee/e2ee-streams.ts';

const PASSWORD_FLOWS = [['m.login.password']];
const DeviceParams = z.object({ deviceId: z.string().min(1).max(MAX_DEVICE_ID_LENGTH) });
/** A client may ask to delete many devices at once; bound it. */
const MAX_DEVICES_PER_DELETE = 1000;

function deviceJson(device: DeviceRow) {
  return {
    device_id: device.device_id,
    display_name: device.display_name ?? undefined,
    last_seen_ip: device.last_seen_ip ?? undefined,
    last_seen_ts: device.last_seen_ts ?? undefined,
  };
}

export function mountDevices(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/devices — the caller's devices. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/devices', auth: 'user' }, async ({ app, caller }) => ({
    devices: (await listDevices(app.db, caller.userId)).map(deviceJson),
  }));

  /** GET /_matrix/client/v3/devices/{deviceId} */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/devices/:deviceId', auth: 'user', params: DeviceParams }, async ({ app, caller, params }) => {
    const device = await findDevice(app.db, caller.userId, params.deviceId);
    if (!device) throw notFound('No such device');
    return deviceJson(device);
  });

  /**
   * PUT /_matrix/client/v3/devices/{deviceId} — rename one of the caller's devices.
   * MSC4190: an appservice managing devices creates one this way (201).
   */
  route(
    router,
    app,
    {
      method: 'PUT',
      path: '/_matrix/client/v3/devices/:deviceId',
      auth: 'user',
      params: DeviceParams,
      body: z.looseObject({ display_name: z.string().max(MAX_DEVICE_NAME_LENGTH).optional() }),
    },
    async ({ app, caller, params, body }) => {
      const device = await findDevice(app.db, caller.userId, params.deviceId);
      if (!device && managesDevices(caller)) {
        await createAppserviceDevice(app, caller, params.deviceId, body.display_name);
        return new Reply(201, {});
      }
      if (!device) throw notFound('No such device');
      if (body.display_name !== undefined) {
        await setDeviceDisplayName(app.db, caller.userId, params.deviceId, body.display_name);
        // /keys/query shows the name (unsigned.device_display_name), so peers hear of the rename.
        await noteDeviceListChange(app, [caller.userId]);
      }
      return {};
    },
  );

  /** DELETE /_matrix/client/v3/devices/{deviceId} — behind UIA; logs that device out. */
  route(
    router,
    app,
    { method: 'DELETE', path: '/_matrix/client/v3/devices/:deviceId', auth: 'user', params: DeviceParams, body: z.looseObject({ auth: UiaAuth.optional() }) },
    async ({ app, caller, params, body }) => {
      const device = await findDevice(app.db, caller.userId, params.deviceId);
      if (!device) throw notFound('No such device');
      // MSC4190: an appservice managing its users' devices deletes them without UIA.
      if (managesDevices(caller)) {
        await removeDevices(app.db, caller.userId, [params.deviceId]);
        return {};
      }
      const uia = await requireUia(app, { requestKey: `DELETE /devices/${params.deviceId}`, flows: PASSWORD_FLOWS, userId: caller.userId, auth: body.auth });
      await removeDevices(app.db, caller.userId, [params.deviceId]);
      await finishUia(app, uia.sessionId);
      await announceDeviceListChange(app, [caller.userId]);
      return {};
    },
  );

  /** POST /_matrix/client/v3/delete_devices — behind UIA; unknown IDs are ignored, as the spec says. */
  route(
    router,
    app,
    {
      method: 'POST',
      path: '/_matrix/client/v3/delete_devices',
      auth: 'user',
      body: z.looseObject({ devices: z.array(z.string().max(MAX_DEVICE_ID_LENGTH)).max(MAX_DEVICES_PER_DELETE), auth: UiaAuth.optional() }),
    },
    async ({ app, caller, body }) => {
      if (managesDevices(caller)) {
        await removeDevices(app.db, caller.userId, body.devices);
        return {};
      }
      const uia = await requireUia(app, { requestKey: 'POST /delete_devices', flows: PASSWORD_FLOWS, userId: caller.userId, auth: body.auth });
      await removeDevices(app.db, caller.userId, body.devices);
      await finishUia(app, uia.sessionId);
      await announceDeviceListChange(app, [caller.userId]);
      return {};
    },
  );
}
