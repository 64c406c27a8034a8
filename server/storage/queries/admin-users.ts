import { sql, type ExpressionBuilder } from 'kysely';
import type { Database, Queryable } from '../database.ts';

/** A user as the admin APIs show them: the users row and when any of their devices was last seen. */
export interface AdminUserRow {
  user_id: string;
  displayname: string | null;
  avatar_url: string | null;
  is_admin: boolean;
  deactivated: boolean;
  appservice_id: string | null;
  created_ts: number;
  last_seen_ts: number | null;
}

/** Columns a user list may be sorted by (Synapse's `order_by`, mapped to ours). */
export type UserSortKey = 'user_id' | 'created_ts' | 'displayname' | 'avatar_url' | 'is_admin' | 'deactivated' | 'last_seen_ts';

export interface UserListFilter {
  /** Substring of the user ID or the display name (Palisade's `search`). */
  idOrName?: string;
  /** Substring of the localpart or the display name (Synapse's `name`). */
  localpartOrName?: string;
  /** Substring of the user ID (Synapse's `user_id`). */
  idContains?: string;
  includeDeactivated: boolean;
  /** true: only admins; false: no admins; undefined: both. */
  admins?: boolean;
}

/** `%` and `_` in what an admin types are literal characters, not patterns. */
function containing(term: string): string {
  return `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

function filtered(db: Queryable, filter: UserListFilter) {
  let query = db.selectFrom('users');
  if (!filter.includeDeactivated) query = query.where('users.deactivated', '=', false);
  if (filter.admins !== undefined) query = query.where('users.is_admin', '=', filter.admins);
  if (filter.idContains !== undefined) query = query.where('users.user_id', 'ilike', containing(filter.idContains));
  if (filter.idOrName !== undefined) {
    const pattern = containing(filter.idOrName);
    query = query.where((eb) => eb.or([eb('users.user_id', 'ilike', pattern), eb('users.displayname', 'ilike', pattern)]));
  }
  if (filter.localpartOrName !== undefined) {
    const pattern = containing(filter.localpartOrName);
    query = query.where((eb) =>
      eb.or([eb(sql<string>`split_part(substr(users.user_id, 2), ':', 1)`, 'ilike', pattern), eb('users.displayname', 'ilike', pattern)]),
    );
  }
  return query;
}

const lastSeen = (eb: ExpressionBuilder<Database, 'users'>) =>
  eb.selectFrom('devices').select((inner) => inner.fn.max('devices.last_seen_ts').as('ts')).whereRef('devices.user_id', '=', 'users.user_id');

/**
 * One page of users ordered by user ID: after `afterUserId` (keyset, the
 * Palisade API) or skipping `offset` rows (Synapse's numeric `from`), and how
 * many match in all.
 */
export async function listUsersPage(
  db: Queryable,
  filter: UserListFilter,
  page: { limit: number; afterUserId?: string; offset?: number; descending?: boolean; sortBy?: UserSortKey },
): Promise<{ users: AdminUserRow[]; total: number }> {
  let query = filtered(db, filter).select([
    'users.user_id',
    'users.displayname',
    'users.avatar_url',
    'users.is_admin',
    'users.deactivated',
    'users.appservice_id',
    'users.created_ts',
    (eb) => lastSeen(eb).as('last_seen_ts'),
  ]);
  if (page.afterUserId !== undefined) query = query.where(sql<string>`users.user_id COLLATE "C"`, '>', page.afterUserId);
  // COLLATE "C": byte order, so the keyset cursor and the order agree whatever the database's locale.
  const direction = page.descending ? 'desc' : 'asc';
  // Ties (and the keyset cursor, which only the default order uses) are broken by user ID.
  if (page.sortBy && page.sortBy !== 'user_id') {
    // Unset values (no display name, never seen) sort as the smallest, either way round.
    query = query.orderBy(sql`${sql.ref(page.sortBy)} ${sql.raw(page.descending ? 'DESC NULLS LAST' : 'ASC NULLS FIRST')}`);
  }
  query = query.orderBy(sql`users.user_id COLLATE "C"`, direction).limit(page.limit);
  if (page.offset) query = query.offset(page.offset);
  const [users, count] = await Promise.all([
    query.execute(),
    filtered(db, filter).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { users: users as AdminUserRow[], total: Number(count.n) };
}

export async function findAdminUser(db: Queryable, userId: string): Promise<AdminUserRow | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['user_id', 'displayname', 'avatar_url', 'is_admin', 'deactivated', 'appservice_id', 'created_ts', (eb) => lastSeen(eb).as('last_seen_ts')])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row as AdminUserRow | undefined;
}

/** A user's devices with how many access tokens (sessions) each holds. */
export async function devicesWithSessions(db: Queryable, userId: string) {
  return db
    .selectFrom('devices')
    .leftJoin('access_tokens', (join) => join.onRef('access_tokens.user_id', '=', 'devices.user_id').onRef('access_tokens.device_id', '=', 'devices.device_id'))
    .select(['devices.device_id', 'devices.display_name', 'devices.last_seen_ip', 'devices.last_seen_ts', 'devices.created_ts', (eb) => eb.fn.count<number>('access_tokens.token_hash').as('sessions')])
    .where('devices.user_id', '=', userId)
    .groupBy(['devices.device_id', 'devices.display_name', 'devices.last_seen_ip', 'devices.last_seen_ts', 'devices.created_ts'])
    .orderBy('devices.created_ts')
    .orderBy('devices.device_id')
    .execute();
}
