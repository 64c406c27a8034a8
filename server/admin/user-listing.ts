import type { AppContext } from '../app-context.ts';
import { invalidParam, notFound } from '../errors.ts';
import { devicesWithSessions, findAdminUser, listUsersPage, type AdminUserRow, type UserListFilter } from '../storage/queries/admin-users.ts';

/** Most users one page lists, in either API. */
export const MAX_USER_PAGE = 1000;

/** How the Palisade admin API shows a user. */
export function userSummary(row: AdminUserRow) {
  return {
    user_id: row.user_id,
    displayname: row.displayname,
    avatar_url: row.avatar_url,
    admin: row.is_admin,
    deactivated: row.deactivated,
    appservice_id: row.appservice_id,
    creation_ts: row.created_ts,
    last_seen_ts: row.last_seen_ts,
  };
}

/** The opaque `from` of the Palisade list: where the previous page ended. */
const encodeCursor = (userId: string) => Buffer.from(userId, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const userId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!userId.startsWith('@')) throw invalidParam('from is not a value next_from gave');
  return userId;
}

/** GET /users of the Palisade API: a page ordered by user ID; `next_from` while there may be more. */
export async function listUsers(app: AppContext, options: { search?: string; includeDeactivated: boolean; admins?: boolean; from?: string; limit: number }) {
  const filter: UserListFilter = { idOrName: options.search, includeDeactivated: options.includeDeactivated, admins: options.admins };
  const page = await listUsersPage(app.db, filter, { limit: Math.min(options.limit, MAX_USER_PAGE), afterUserId: options.from === undefined ? undefined : decodeCursor(options.from) });
  const last = page.users.at(-1);
  return {
    users: page.users.map(userSummary),
    total: page.total,
    ...(page.users.length === options.limit && last ? { next_from: encodeCursor(last.user_id) } : {}),
  };
}

/** One user, or 404 M_NOT_FOUND. */
export async function requireAdminUser(app: AppContext, userId: string): Promise<AdminUserRow> {
  const row = await findAdminUser(app.db, userId);
  if (!row) throw notFound(`There is no user ${userId} on this server`);
  return row;
}

/** A user's devices: name, where and when last seen, how many sessions (access tokens) each holds. */
export async function listUserDevices(app: AppContext, userId: string) {
  await requireAdminUser(app, userId);
  const rows = await devicesWithSessions(app.db, userId);
  return {
    devices: rows.map((row) => ({
      device_id: row.device_id,
      display_name: row.display_name,
      last_seen_ip: row.last_seen_ip,
      last_seen_ts: row.last_seen_ts,
      created_ts: row.created_ts,
      sessions: Number(row.sessions),
    })),
  };
}
