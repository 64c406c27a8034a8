import type { Queryable } from '../database.ts';

export async function insertFilter(db: Queryable, row: { user_id: string; filter_id: string; filter: Record<string, unknown>; created_ts: number }): Promise<void> {
  await db.insertInto('user_filters').values({ ...row, filter: JSON.stringify(row.filter) as unknown as Record<string, unknown> }).execute();
}

export async function findFilter(db: Queryable, userId: string, filterId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('user_filters').select('filter').where('user_id', '=', userId).where('filter_id', '=', filterId).executeTakeFirst();
  return row?.filter;
}
