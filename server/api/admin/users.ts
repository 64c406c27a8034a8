import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { MAX_DEVICE_ID_LENGTH } from '../../accounts/sessions.ts';
import { createUser, deactivateUser, logOutUser, resetPassword, setServerAdmin } from '../../admin/user-admin.ts';
import { listUserDevices, listUsers, MAX_USER_PAGE, requireAdminUser, userSummary } from '../../admin/user-listing.ts';
import { AvatarUrl, Displayname, MAX_SEARCH_LENGTH, Password, QueryBoolean, UserParams } from './admin-params.ts';

const BASE = '/_palisade/admin/v1/users';

const ListQuery = z.looseObject({
  search: z.string().min(1).max(MAX_SEARCH_LENGTH).optional(),
  deactivated: QueryBoolean.default(false),
  admins: QueryBoolean.optional(),
  limit: z.coerce.number().int().positive().max(MAX_USER_PAGE).default(100),
  from: z.string().min(1).max(1024).optional(),
});
const CreateBody = z.strictObject({
  localpart: z.string().min(1).max(255),
  password: Password.min(1),
  admin: z.boolean().default(false),
  displayname: Displayname.optional(),
  avatar_url: AvatarUrl.optional(),
});
const DeactivateBody = z.strictObject({ erase: z.boolean().default(false) });
const PasswordBody = z.strictObject({ new_password: Password.min(1), logout_devices: z.boolean().default(true) });
const AdminBody = z.strictObject({ admin: z.boolean() });
const LogoutBody = z.strictObject({ device_id: z.string().min(1).max(MAX_DEVICE_ID_LENGTH).optional() });

/**
 * User management in the Palisade admin API (docs/admin-api.yaml), server
 * admins only (anyone else: 403 M_FORBIDDEN). Changes are rate limited like
 * messages and audited (GET /audit); the logic is server/admin/, shared with
 * the Synapse-compatible routes.
 */
export function mountUserAdmin(router: Router, app: AppContext): void {
  /** GET /users?search&deactivated&admins&limit&from — by user ID; `next_from` pages on. */
  route(router, app, { method: 'GET', path: BASE, auth: 'admin', query: ListQuery }, ({ app, query }) =>
    listUsers(app, { search: query.search, includeDeactivated: query.deactivated, admins: query.admins, from: query.from, limit: query.limit }),
  );

  /** POST /users — a new account that logs in with the password. */
  route(router, app, { method: 'POST', path: BASE, auth: 'admin', body: CreateBody }, async ({ app, caller, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return userSummary(await createUser(app, caller.userId, body));
  });

  /** GET /users/{userId} */
  route(router, app, { method: 'GET', path: `${BASE}/:userId`, auth: 'admin', params: UserParams }, async ({ app, params }) =>
    userSummary(await requireAdminUser(app, params.userId)),
  );

  /** POST /users/{userId}/deactivate — as /account/deactivate: logged out everywhere, every room left. */
  route(router, app, { method: 'POST', path: `${BASE}/:userId/deactivate`, auth: 'admin', params: UserParams, body: DeactivateBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    await deactivateUser(app, caller.userId, params.userId, body.erase);
    return userSummary(await requireAdminUser(app, params.userId));
  });

  /** POST /users/{userId}/password — a new password; every device logged out unless logout_devices is false. */
  route(router, app, { method: 'POST', path: `${BASE}/:userId/password`, auth: 'admin', params: UserParams, body: PasswordBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return resetPassword(app, caller.userId, params.userId, body.new_password, body.logout_devices);
  });

  /** PUT /users/{userId}/admin — grant or revoke server admin (not one's own). */
  route(router, app, { method: 'PUT', path: `${BASE}/:userId/admin`, auth: 'admin', params: UserParams, body: AdminBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    await setServerAdmin(app, caller.userId, params.userId, body.admin);
    return userSummary(await requireAdminUser(app, params.userId));
  });

  /** GET /users/{userId}/devices — devices with last seen address and time, and their session count. */
  route(router, app, { method: 'GET', path: `${BASE}/:userId/devices`, auth: 'admin', params: UserParams }, ({ app, params }) => listUserDevices(app, params.userId));

  /** POST /users/{userId}/logout — every session, or one device's. */
  route(router, app, { method: 'POST', path: `${BASE}/:userId/logout`, auth: 'admin', params: UserParams, body: LogoutBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return logOutUser(app, caller.userId, params.userId, body.device_id);
  });
}
