import type { Queryable, Tx } from '../database.ts';
import type { ReceiptRow } from '../tables/user-data.ts';

export async function findReceipt(db: Queryable, key: { room_id: string; receipt_type: string; user_id: string; thread_id: string }): Promise<ReceiptRow | undefined> {
  return db
    .selectFrom('receipts')
    .selectAll()
    .where('room_id', '=', key.room_id)
    .where('receipt_type', '=', key.receipt_type)
    .where('user_id', '=', key.user_id)
    .where('thread_id', '=', key.thread_id)
    .executeTakeFirst();
}

export async function upsertReceipt(tx: Tx, row: ReceiptRow): Promise<void> {
  await tx
    .insertInto('receipts')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['room_id', 'receipt_type', 'user_id', 'thread_id']).doUpdateSet({
        event_id: row.event_id,
        event_stream_ordering: row.event_stream_ordering,
        ts: row.ts,
        stream_id: row.stream_id,
      }),
    )
    .execute();
}

/** Receipts of these rooms changed in (after, upTo]; all of them up to `upTo` when `after` is undefined. */
export async function receiptsBetween(db: Queryable, roomIds: readonly string[], after: number | undefined, upTo: number): Promise<ReceiptRow[]> {
  if (roomIds.length === 0) return [];
  let query = db.selectFrom('receipts').selectAll().where('room_id', 'in', roomIds).where('stream_id', '<=', upTo);
  if (after !== undefined) query = query.where('stream_id', '>', after);
  return query.orderBy('stream_id').execute();
}
