import type Router from '@koa/router';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { Reply, route } from '../../http/route.ts';
import { MAX_DEVICE_ID_LENGTH } from '../../accounts/sessions.ts';
import { deactivateUser, logOutUser, resetPassword, setServerAdmin } from '../../admin/user-admin.ts';
import { listUserDevices, MAX_USER_PAGE, requireAdminUser } from '../../admin/user-listing.ts';
import { listSynapseUsers, putSynapseUser, SYNAPSE_USER_ORDERS, synapseUser } from '../../admin/synapse-users.ts';
import { AvatarUrl, Displayname, MAX_SEARCH_LENGTH, Password, QueryBoolean, UserParams } from './admin-params.ts';

const PACKAGE = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const ListQuery = z.looseObject({
  from: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().positive().max(MAX_USER_PAGE).default(100),
  name: z.string().min(1).max(MAX_SEARCH_LENGTH).optional(),
  user_id: z.string().min(1).max(MAX_SEARCH_LENGTH).optional(),
  // No guests here: guests=false excludes nothing.
  guests: QueryBoolean.optional(),
  deactivated: QueryBoolean.default(false),
  admins: QueryBoolean.optional(),
  order_by: z.enum(SYNAPSE_USER_ORDERS).default('name'),
  dir: z.enum(['f', 'b']).default('f'),
});
const PutUserBody = z.looseObject({
  password: Password.min(1).optional(),
  logout_devices: z.boolean().default(true),
  displayname: Displayname.optional(),
  avatar_url: AvatarUrl.optional(),
  admin: z.boolean().optional(),
  deactivated: z.boolean().optional(),
  // Accepted so scripts that send them keep working; this server has no 3PIDs or SSO ids.
  threepids: z.array(z.unknown()).max(0, 'This server does not store third-party IDs').optional(),
  external_ids: z.array(z.unknown()).max(0, 'This server has no single sign-on').optional(),
  user_type: z.null().optional(),
});
const DeactivateBody = z.looseObject({ erase: z.boolean().default(false) });
const ResetPasswordBody = z.looseObject({ new_password: Password.min(1), logout_devices: z.boolean().default(true) });
const AdminBody = z.looseObject({ admin: z.boolean() });
const DeviceParams = UserParams.extend({ deviceId: z.string().min(1).max(MAX_DEVICE_ID_LENGTH) });

/**
 * The subset of Synapse's user admin API that admin tools and scripts use,
 * server admins only (anyone else 403 M_FORBIDDEN). Thin: the logic is
 * server/admin/, shared with /_palisade/admin/v1/users; changes are audited.
 */
export function mountSynapseUserAdmin(router: Router, app: AppContext): void {
  /** GET /_synapse/admin/v1/server_version */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v1/server_version', auth: 'admin' }, () => ({ server_version: `Palisade ${PACKAGE.version}` }));

  /** GET /_synapse/admin/v2/users?from&limit&name&user_id&guests&deactivated&admins&dir → {users, next_token, total} */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v2/users', auth: 'admin', query: ListQuery }, ({ app, query }) => listSynapseUsers(app, query));

  /** GET /_synapse/admin/v2/users/{userId} */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v2/users/:userId', auth: 'admin', params: UserParams }, async ({ app, params }) =>
    synapseUser(await requireAdminUser(app, params.userId)),
  );

  /** PUT /_synapse/admin/v2/users/{userId} — create (201) or modify (200): password, displayname, avatar_url, admin, deactivated. */
  route(router, app, { method: 'PUT', path: '/_synapse/admin/v2/users/:userId', auth: 'admin', params: UserParams, body: PutUserBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    const { created, user } = await putSynapseUser(app, caller.userId, params.userId, body);
    return new Reply(created ? 201 : 200, synapseUser(user));
  });

  /** POST /_synapse/admin/v1/deactivate/{userId} {erase} — as /account/deactivate; erase also clears the profile. */
  route(router, app, { method: 'POST', path: '/_synapse/admin/v1/deactivate/:userId', auth: 'admin', params: UserParams, body: DeactivateBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    await deactivateUser(app, caller.userId, params.userId, body.erase);
    // Nothing is bound at an identity server, so there was nothing to fail to unbind.
    return { id_server_unbind_result: 'success' };
  });

  /** POST /_synapse/admin/v1/reset_password/{userId} {new_password, logout_devices} */
  route(router, app, { method: 'POST', path: '/_synapse/admin/v1/reset_password/:userId', auth: 'admin', params: UserParams, body: ResetPasswordBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    await resetPassword(app, caller.userId, params.userId, body.new_password, body.logout_devices);
    return {};
  });

  /** GET /_synapse/admin/v1/users/{userId}/admin → {admin} */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v1/users/:userId/admin', auth: 'admin', params: UserParams }, async ({ app, params }) => ({
    admin: (await requireAdminUser(app, params.userId)).is_admin,
  }));

  /** PUT /_synapse/admin/v1/users/{userId}/admin {admin} — not one's own revocation. */
  route(router, app, { method: 'PUT', path: '/_synapse/admin/v1/users/:userId/admin', auth: 'admin', params: UserParams, body: AdminBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    await setServerAdmin(app, caller.userId, params.userId, body.admin);
    return {};
  });

  /** GET /_synapse/admin/v2/users/{userId}/devices → {devices, total} */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v2/users/:userId/devices', auth: 'admin', params: UserParams }, async ({ app, params }) => {
    const { devices } = await listUserDevices(app, params.userId);
    return {
      devices: devices.map((device) => ({
        device_id: device.device_id,
        display_name: device.display_name,
        last_seen_ip: device.last_seen_ip,
        last_seen_ts: device.last_seen_ts,
        // Not recorded here.
        last_seen_user_agent: null,
        user_id: params.userId,
      })),
      total: devices.length,
    };
  });

  /** DELETE /_synapse/admin/v2/users/{userId}/devices/{deviceId} — logs that device out; an unknown device is no error, as in Synapse. */
  route(router, app, { method: 'DELETE', path: '/_synapse/admin/v2/users/:userId/devices/:deviceId', auth: 'admin', params: DeviceParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    await logOutUser(app, caller.userId, params.userId, params.deviceId, { missingDeviceIsFine: true });
    return {};
  });
}
