import type { AppContext } from '../app-context.ts';
import { invalidParam } from '../errors.ts';
import { serverNameOf } from '../accounts/user-ids.ts';
import { listUsersPage, type AdminUserRow, type UserSortKey } from '../storage/queries/admin-users.ts';
import { createUser, deactivateUser, findUserForAdmin, reactivateUser, resetPassword, setServerAdmin, setUserProfile } from './user-admin.ts';
import { MAX_USER_PAGE, requireAdminUser } from './user-listing.ts';

/**
 * Synapse's user admin API shapes over the shared account logic, so existing
 * admin tools and scripts work unchanged. This server has no guests, 3PIDs,
 * SSO ids, locks, suspensions or shadow bans: those fields are always empty/false.
 */
export function synapseUser(row: AdminUserRow) {
  return {
    name: row.user_id,
    displayname: row.displayname,
    avatar_url: row.avatar_url,
    threepids: [],
    external_ids: [],
    is_guest: false,
    admin: row.is_admin,
    deactivated: row.deactivated,
    erased: false,
    shadow_banned: false,
    locked: false,
    suspended: false,
    user_type: null,
    appservice_id: row.appservice_id,
    // Milliseconds, as Synapse's list documents (its query example shows seconds).
    creation_ts: row.created_ts,
    last_seen_ts: row.last_seen_ts,
    consent_server_notice_sent: null,
    consent_version: null,
    consent_ts: null,
  };
}

/** Synapse's `order_by` values; those for fields this server does not have (all equal) sort by name. */
export const SYNAPSE_USER_ORDERS = ['name', 'is_guest', 'admin', 'user_type', 'deactivated', 'shadow_banned', 'displayname', 'avatar_url', 'creation_ts', 'last_seen_ts', 'locked'] as const;
export type SynapseUserOrder = (typeof SYNAPSE_USER_ORDERS)[number];
const SORT_KEYS: Record<SynapseUserOrder, UserSortKey> = {
  name: 'user_id',
  is_guest: 'user_id',
  user_type: 'user_id',
  shadow_banned: 'user_id',
  locked: 'user_id',
  admin: 'is_admin',
  deactivated: 'deactivated',
  displayname: 'displayname',
  avatar_url: 'avatar_url',
  creation_ts: 'created_ts',
  last_seen_ts: 'last_seen_ts',
};

/** GET /_synapse/admin/v2/users: numeric `from` offset; `next_token` while there are more. */
export async function listSynapseUsers(
  app: AppContext,
  query: { from: number; limit: number; name?: string; user_id?: string; deactivated: boolean; admins?: boolean; dir: 'f' | 'b'; order_by: SynapseUserOrder },
) {
  const limit = Math.min(query.limit, MAX_USER_PAGE);
  const filter = query.name !== undefined
    ? { localpartOrName: query.name, includeDeactivated: query.deactivated, admins: query.admins }
    : { idContains: query.user_id, includeDeactivated: query.deactivated, admins: query.admins };
  const page = await listUsersPage(app.db, filter, { limit, offset: query.from, descending: query.dir === 'b', sortBy: SORT_KEYS[query.order_by] });
  const users = page.users.map((row) => {
    const { threepids: _t, external_ids: _e, suspended: _s, appservice_id: _a, consent_server_notice_sent: _c1, consent_version: _c2, consent_ts: _c3, ...listed } = synapseUser(row);
    return listed;
  });
  const next = query.from + page.users.length;
  return { users, total: page.total, ...(next < page.total && page.users.length > 0 ? { next_token: String(next) } : {}) };
}

export interface SynapseUserChanges {
  password?: string;
  logout_devices: boolean;
  displayname?: string;
  avatar_url?: string;
  admin?: boolean;
  deactivated?: boolean;
}

/**
 * PUT /_synapse/admin/v2/users/{userId}: creates the user (local IDs only)
 * or changes what the body names. Returns whether it was created.
 */
export async function putSynapseUser(app: AppContext, actor: string, userId: string, changes: SynapseUserChanges): Promise<{ created: boolean; user: AdminUserRow }> {
  if (serverNameOf(userId) !== app.config.server_name) throw invalidParam('Only local users can be created or changed here');
  const existing = await findUserForAdmin(app, userId);
  if (!existing) {
    if (changes.deactivated) throw invalidParam('A new user cannot be created deactivated');
    const localpart = userId.slice(1, userId.indexOf(':'));
    const user = await createUser(app, actor, { localpart, password: changes.password, admin: changes.admin ?? false, displayname: changes.displayname, avatar_url: changes.avatar_url });
    return { created: true, user };
  }
  // Reactivation first (it needs the password), deactivation last (nothing else may change a closed account).
  if (changes.deactivated === false) await reactivateUser(app, actor, userId, changes.password);
  else if (changes.password !== undefined && !(changes.deactivated === true)) await resetPassword(app, actor, userId, changes.password, changes.logout_devices);
  const profile = { ...(changes.displayname !== undefined ? { displayname: changes.displayname } : {}), ...(changes.avatar_url !== undefined ? { avatar_url: changes.avatar_url } : {}) };
  if (Object.keys(profile).length > 0 && changes.deactivated !== true) await setUserProfile(app, actor, userId, profile);
  if (changes.admin !== undefined) await setServerAdmin(app, actor, userId, changes.admin);
  if (changes.deactivated === true) await deactivateUser(app, actor, userId, false);
  return { created: false, user: await requireAdminUser(app, userId) };
}
