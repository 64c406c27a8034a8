import type { Queryable, Tx } from '../database.ts';
import type { AccountDataRow } from '../tables/user-data.ts';

/** Global account data is stored under this room ID. */
export const GLOBAL_ROOM = '';

export async function upsertAccountData(tx: Tx, row: { user_id: string; room_id: string; type: string; content: Record<string, unknown>; stream_id: number }): Promise<void> {
  const values = { ...row, content: JSON.stringify(row.content) as unknown as Record<string, unknown> };
  await tx
    .insertInto('account_data')
    .values(values)
    .onConflict((oc) => oc.columns(['user_id', 'room_id', 'type']).doUpdateSet({ content: values.content, stream_id: row.stream_id }))
    .execute();
}

export async function findAccountData(db: Queryable, userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('account_data').select('content').where('user_id', '=', userId).where('room_id', '=', roomId).where('type', '=', type).executeTakeFirst();
  return row?.content;
}

/** A user's account data changed in (after, upTo]; all of it up to `upTo` when `after` is undefined. */
export async function accountDataBetween(db: Queryable, userId: string, after: number | undefined, upTo: number): Promise<AccountDataRow[]> {
  let query = db.selectFrom('account_data').selectAll().where('user_id', '=', userId).where('stream_id', '<=', upTo);
  if (after !== undefined) query = query.where('stream_id', '>', after);
  return query.orderBy('stream_id').execute();
}
