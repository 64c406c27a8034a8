import { sql } from 'kysely';
import type { Queryable } from '../database.ts';
import type { RegistrationTokenRow } from '../tables/registration.ts';

/** Every token, or only those still usable (`valid: true`) or no longer (`valid: false`), oldest first. */
export async function listRegistrationTokens(db: Queryable, valid: boolean | undefined, now: number): Promise<RegistrationTokenRow[]> {
  let query = db.selectFrom('registration_tokens').selectAll();
  if (valid !== undefined) {
    const usable = sql<boolean>`((expiry_time IS NULL OR expiry_time > ${now}) AND (uses_allowed IS NULL OR pending + completed < uses_allowed))`;
    query = query.where(valid ? usable : sql<boolean>`NOT ${usable}`);
  }
  return query.orderBy('created_ts').orderBy('token').execute();
}

/** Sets what is given; undefined leaves a field alone. Returns the row after, or undefined if there is no such token. */
export async function updateRegistrationToken(
  db: Queryable,
  token: string,
  changes: { uses_allowed?: number | null; expiry_time?: number | null },
): Promise<RegistrationTokenRow | undefined> {
  if (changes.uses_allowed === undefined && changes.expiry_time === undefined) {
    return db.selectFrom('registration_tokens').selectAll().where('token', '=', token).executeTakeFirst();
  }
  return db.updateTable('registration_tokens').set(changes).where('token', '=', token).returningAll().executeTakeFirst();
}

export async function deleteRegistrationToken(db: Queryable, token: string): Promise<RegistrationTokenRow | undefined> {
  return db.deleteFrom('registration_tokens').where('token', '=', token).returningAll().executeTakeFirst();
}
