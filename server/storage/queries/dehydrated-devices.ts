import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { JsonObject } from '../tables/e2ee.ts';

export async function findDehydratedDevice(db: Queryable, userId: string): Promise<{ device_id: string; device_data: JsonObject } | undefined> {
  return db.selectFrom('dehydrated_devices').select(['device_id', 'device_data']).where('user_id', '=', userId).executeTakeFirst();
}

export async function insertDehydratedDevice(tx: Tx, row: { user_id: string; device_id: string; device_data: JsonObject; created_ts: number }): Promise<void> {
  await tx
    .insertInto('dehydrated_devices')
    .values({ ...row, device_data: JSON.stringify(row.device_data) })
    .execute();
}

/** Whether the user has a device with this ID (dehydrated or not). */
export async function deviceExists(db: Queryable, userId: string, deviceId: string): Promise<boolean> {
  const row = await db.selectFrom('devices').select('device_id').where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
  return row !== undefined;
}

/**
 * Serialises replacements of one user's dehydrated device (a transaction-scoped
 * advisory lock, since there may be no row to lock yet) and returns the current one.
 */
export async function lockDehydratedDeviceOf(tx: Tx, userId: string): Promise<{ device_id: string } | undefined> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`dehydrated_device:${userId}`}))`.execute(tx);
  return tx.selectFrom('dehydrated_devices').select('device_id').where('user_id', '=', userId).forUpdate().executeTakeFirst();
}
