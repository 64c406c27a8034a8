import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { NewToDeviceMessageRow, ToDeviceMessageRow } from '../tables/e2ee.ts';

/**
 * Writers to the to-device stream serialise on this transaction-scoped
 * advisory lock, taken just before the insert and held until commit, so
 * positions commit in allocation order: a device that acknowledged position N
 * can never later find an older, slower-committing message below N.
 */
const TO_DEVICE_STREAM_LOCK = 0x7061_6c02;
const INSERT_CHUNK = 1000;

/** Records the transaction ID; false when it was already used (a retransmission). */
export async function claimToDeviceTxn(
  tx: Tx,
  txn: { sender_user_id: string; sender_device_id: string; event_type: string; txn_id: string; expires_ts: number },
): Promise<boolean> {
  const result = await tx.insertInto('to_device_transactions').values(txn).onConflict((conflict) => conflict.doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Devices of `userIds`, locked against deletion until commit (so inserts cannot hit a vanished device). */
export async function lockDevicesOf(tx: Tx, userIds: string[]): Promise<{ user_id: string; device_id: string }[]> {
  if (userIds.length === 0) return [];
  return tx.selectFrom('devices').select(['user_id', 'device_id']).where('user_id', 'in', userIds).forKeyShare().execute();
}

/** Inserts under the stream lock; returns the highest position written (0 when `rows` is empty). */
export async function insertToDeviceMessages(tx: Tx, rows: NewToDeviceMessageRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  await sql`SELECT pg_advisory_xact_lock(${TO_DEVICE_STREAM_LOCK})`.execute(tx);
  let highest = 0;
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const written = await tx.insertInto('to_device_messages').values(rows.slice(start, start + INSERT_CHUNK)).returning('position').execute();
    for (const { position } of written) highest = Math.max(highest, Number(position));
  }
  return highest;
}

export async function listToDeviceMessages(
  db: Queryable,
  userId: string,
  deviceId: string,
  afterPosition: number,
  limit: number,
  now: number,
  uptoPosition = Number.MAX_SAFE_INTEGER,
): Promise<ToDeviceMessageRow[]> {
  return db
    .selectFrom('to_device_messages')
    .selectAll()
    .where('recipient_user_id', '=', userId)
    .where('recipient_device_id', '=', deviceId)
    .where('position', '>', afterPosition)
    .where('position', '<=', uptoPosition)
    .where('expires_ts', '>', now)
    .orderBy('position')
    .limit(limit)
    .execute();
}

export async function deleteToDeviceMessagesUpTo(db: Queryable, userId: string, deviceId: string, uptoPosition: number): Promise<number> {
  const result = await db
    .deleteFrom('to_device_messages')
    .where('recipient_user_id', '=', userId)
    .where('recipient_device_id', '=', deviceId)
    .where('position', '<=', uptoPosition)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteExpired(db: Queryable, now: number): Promise<{ messages: number; transactions: number }> {
  const messages = await db.deleteFrom('to_device_messages').where('expires_ts', '<=', now).executeTakeFirst();
  const transactions = await db.deleteFrom('to_device_transactions').where('expires_ts', '<=', now).executeTakeFirst();
  return { messages: Number(messages.numDeletedRows), transactions: Number(transactions.numDeletedRows) };
}

/**
 * The highest position handed out, read under the stream lock in shared mode
 * so no writer is between allocating and committing. From the sequence, not
 * `max(position)`: delivered rows are deleted, and the stream must not go back.
 */
export async function currentToDevicePosition(tx: Tx): Promise<number> {
  await sql`SELECT pg_advisory_xact_lock_shared(${TO_DEVICE_STREAM_LOCK})`.execute(tx);
  const result = await sql<{ last_value: string; is_called: boolean }>`SELECT last_value, is_called FROM to_device_messages_position_seq`.execute(tx);
  const row = result.rows[0];
  return row?.is_called ? Number(row.last_value) : 0;
}
