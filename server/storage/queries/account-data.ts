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

/** Several users' global account data of the given types: user -> type -> content (for push evaluation over a room's members). */
export async function globalAccountDataOfUsers(db: Queryable, userIds: readonly string[], types: readonly string[]): Promise<Map<string, Map<string, Record<string, unknown>>>> {
  const byUser = new Map<string, Map<string, Record<string, unknown>>>();
  if (userIds.length === 0 || types.length === 0) return byUser;
  const rows = await db
    .selectFrom('account_data')
    .select(['user_id', 'type', 'content'])
    .where('user_id', 'in', [...userIds])
    .where('room_id', '=', GLOBAL_ROOM)
    .where('type', 'in', [...types])
    .execute();
  for (const row of rows) {
    let ofUser = byUser.get(row.user_id);
    if (!ofUser) byUser.set(row.user_id, (ofUser = new Map()));
    ofUser.set(row.type, row.content);
  }
  return byUser;
}

/** A user's account data changed in (after, upTo]; all of it up to `upTo` when `after` is undefined. */
export async function accountDataBetween(db: Queryable, userId: string, after: number | undefined, upTo: number): Promise<AccountDataRow[]> {
  let query = db.selectFrom('account_data').selectAll().where('user_id', '=', userId).where('stream_id', '<=', upTo);
  if (after !== undefined) query = query.where('stream_id', '>', after);
  return query.orderBy('stream_id').execute();
}
