import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { RoomKeyBackupKeyRow, RoomKeyBackupVersionRow } from '../tables/e2ee.ts';

/** Rows per INSERT: keeps the statement well under Postgres's 65535 bind parameters. */
const INSERT_CHUNK = 1000;

/** Serialises backup-version changes of one user (creation numbers, uploads against "current"). */
export async function lockBackupsOfUser(tx: Tx, userId: string): Promise<void> {
  await tx.selectFrom('users').select('user_id').where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

export async function insertBackupVersion(tx: Tx, userId: string, algorithm: string, authData: object, now: number): Promise<number> {
  const row = await tx
    .selectFrom('room_key_backup_versions')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const version = Number(row?.version ?? 0) + 1;
  await tx
    .insertInto('room_key_backup_versions')
    .values({ user_id: userId, version, algorithm, auth_data: JSON.stringify(authData), created_ts: now })
    .execute();
  return version;
}

/** The newest backup that is not deleted. */
export async function findLatestBackupVersion(db: Queryable, userId: string): Promise<RoomKeyBackupVersionRow | undefined> {
  return db
    .selectFrom('room_key_backup_versions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted', '=', false)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** A version row, deleted or not. */
export async function findBackupVersion(db: Queryable, userId: string, version: number): Promise<RoomKeyBackupVersionRow | undefined> {
  return db.selectFrom('room_key_backup_versions').selectAll().where('user_id', '=', userId).where('version', '=', version).executeTakeFirst();
}

export async function updateBackupAuthData(db: Queryable, userId: string, version: number, authData: object): Promise<void> {
  await db
    .updateTable('room_key_backup_versions')
    .set({ auth_data: JSON.stringify(authData) })
    .where('user_id', '=', userId)
    .where('version', '=', version)
    .execute();
}

/** Marks the version deleted (its number is never reused) and drops its keys. */
export async function markBackupDeleted(tx: Tx, userId: string, version: number): Promise<void> {
  await tx.deleteFrom('room_key_backup_keys').where('user_id', '=', userId).where('version', '=', version).execute();
  await tx.updateTable('room_key_backup_versions').set({ deleted: true }).where('user_id', '=', userId).where('version', '=', version).execute();
}

export async function bumpBackupEtag(tx: Tx, userId: string, version: number): Promise<void> {
  await tx
    .updateTable('room_key_backup_versions')
    .set((eb) => ({ etag: eb('etag', '+', 1) }))
    .where('user_id', '=', userId)
    .where('version', '=', version)
    .execute();
}

export async function countBackupKeys(db: Queryable, userId: string, version: number): Promise<number> {
  const row = await db
    .selectFrom('room_key_backup_keys')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('user_id', '=', userId)
    .where('version', '=', version)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

export type NewBackupKey = Omit<RoomKeyBackupKeyRow, 'user_id' | 'version' | 'session_data'> & { session_data: object };

/**
 * Stores keys, replacing a stored key only when the new one is better by the
 * spec's order: verified first, then lower first_message_index, then lower
 * forwarded_count. Returns how many rows were inserted or replaced.
 */
export async function upsertBackupKeys(tx: Tx, userId: string, version: number, keys: NewBackupKey[]): Promise<number> {
  let changed = 0;
  for (let start = 0; start < keys.length; start += INSERT_CHUNK) {
    const rows = keys.slice(start, start + INSERT_CHUNK).map((key) => ({ ...key, user_id: userId, version, session_data: JSON.stringify(key.session_data) }));
    const result = await tx
      .insertInto('room_key_backup_keys')
      .values(rows)
      .onConflict((conflict) =>
        conflict
          .columns(['user_id', 'version', 'room_id', 'session_id'])
          .doUpdateSet((eb) => ({
            first_message_index: eb.ref('excluded.first_message_index'),
            forwarded_count: eb.ref('excluded.forwarded_count'),
            is_verified: eb.ref('excluded.is_verified'),
            session_data: eb.ref('excluded.session_data'),
          }))
          .where(
            sql<boolean>`(excluded.is_verified, -excluded.first_message_index, -excluded.forwarded_count)
              > (room_key_backup_keys.is_verified, -room_key_backup_keys.first_message_index, -room_key_backup_keys.forwarded_count)`,
          ),
      )
      .executeTakeFirst();
    changed += Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
  return changed;
}

export async function listBackupKeys(db: Queryable, userId: string, version: number, roomId?: string, sessionId?: string): Promise<RoomKeyBackupKeyRow[]> {
  let query = db.selectFrom('room_key_backup_keys').selectAll().where('user_id', '=', userId).where('version', '=', version);
  if (roomId !== undefined) query = query.where('room_id', '=', roomId);
  if (sessionId !== undefined) query = query.where('session_id', '=', sessionId);
  return query.execute();
}

export async function deleteBackupKeys(tx: Tx, userId: string, version: number, roomId?: string, sessionId?: string): Promise<number> {
  let query = tx.deleteFrom('room_key_backup_keys').where('user_id', '=', userId).where('version', '=', version);
  if (roomId !== undefined) query = query.where('room_id', '=', roomId);
  if (sessionId !== undefined) query = query.where('session_id', '=', sessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}
