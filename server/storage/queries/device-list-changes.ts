import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';

/**
 * Writers to the device-list stream serialise on this transaction-scoped
 * advisory lock, taken just before the insert and held until commit, so
 * positions commit in allocation order: a reader that sees position N has
 * every row below N. Device-list changes are rare, so the lock costs little.
 */
const DEVICE_LIST_STREAM_LOCK = 0x7061_6c01;

export async function insertDeviceListChanges(tx: Tx, userIds: string[], now: number): Promise<void> {
  if (userIds.length === 0) return;
  await sql`SELECT pg_advisory_xact_lock(${DEVICE_LIST_STREAM_LOCK})`.execute(tx);
  await tx
    .insertInto('device_list_changes')
    .values([...new Set(userIds)].map((user_id) => ({ user_id, created_ts: now })))
    .execute();
}

export async function maxDeviceListPosition(db: Queryable): Promise<number> {
  const row = await db
    .selectFrom('device_list_changes')
    .select((eb) => eb.fn.max('position').as('position'))
    .executeTakeFirst();
  return Number(row?.position ?? 0);
}

/** Every user with a change in (fromExclusive, toInclusive]. */
export async function allUsersChangedBetween(db: Queryable, fromExclusive: number, toInclusive: number): Promise<string[]> {
  if (toInclusive <= fromExclusive) return [];
  const rows = await db
    .selectFrom('device_list_changes')
    .select('user_id')
    .distinct()
    .where('position', '>', fromExclusive)
    .where('position', '<=', toInclusive)
    .execute();
  return rows.map((row) => row.user_id);
}

/** Users among `userIds` with a change in (fromExclusive, toInclusive]. */
export async function usersChangedBetween(db: Queryable, userIds: string[], fromExclusive: number, toInclusive: number): Promise<string[]> {
  if (userIds.length === 0 || toInclusive <= fromExclusive) return [];
  const rows = await db
    .selectFrom('device_list_changes')
    .select('user_id')
    .distinct()
    .where('user_id', 'in', userIds)
    .where('position', '>', fromExclusive)
    .where('position', '<=', toInclusive)
    .execute();
  return rows.map((row) => row.user_id);
}
