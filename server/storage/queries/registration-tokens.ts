import { sql } from 'kysely';
import type { Queryable } from '../database.ts';
import type { RegistrationTokenRow } from '../tables/registration.ts';

export async function findRegistrationToken(db: Queryable, token: string): Promise<RegistrationTokenRow | undefined> {
  return db.selectFrom('registration_tokens').selectAll().where('token', '=', token).executeTakeFirst();
}

/** A token is usable while unexpired and while pending plus completed uses stay below `uses_allowed`. */
export function isRegistrationTokenUsable(row: RegistrationTokenRow, now: number): boolean {
  if (row.expiry_time !== null && row.expiry_time <= now) return false;
  return row.uses_allowed === null || row.pending + row.completed < row.uses_allowed;
}

/** Reserves one use atomically; false when the token is spent or expired. */
export async function reserveRegistrationToken(db: Queryable, token: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('registration_tokens')
    .set((eb) => ({ pending: eb('pending', '+', 1) }))
    .where('token', '=', token)
    .where((eb) => eb.or([eb('expiry_time', 'is', null), eb('expiry_time', '>', now)]))
    .where((eb) => eb.or([eb('uses_allowed', 'is', null), eb(sql`pending + completed`, '<', eb.ref('uses_allowed'))]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function completeRegistrationToken(db: Queryable, token: string): Promise<void> {
  await db
    .updateTable('registration_tokens')
    .set((eb) => ({ pending: sql`greatest(${eb.ref('pending')} - 1, 0)`, completed: eb('completed', '+', 1) }))
    .where('token', '=', token)
    .execute();
}

export async function insertRegistrationToken(
  db: Queryable,
  row: { token: string; uses_allowed: number | null; expiry_time: number | null; created_ts: number },
): Promise<void> {
  await db.insertInto('registration_tokens').values(row).execute();
}
