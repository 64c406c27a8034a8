import type { Queryable } from '../database.ts';

export async function findCachedPreview(db: Queryable, url: string, now: number): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('url_previews').select('og').where('url', '=', url).where('expires_ts', '>', now).executeTakeFirst();
  return row?.og;
}

export async function storePreview(db: Queryable, url: string, og: Record<string, unknown>, now: number, ttlMs: number): Promise<void> {
  const values = { url, og: JSON.stringify(og), fetched_ts: now, expires_ts: now + ttlMs };
  await db
    .insertInto('url_previews')
    .values(values)
    .onConflict((conflict) => conflict.column('url').doUpdateSet({ og: values.og, fetched_ts: now, expires_ts: values.expires_ts }))
    .execute();
}

/** Drops expired cache rows; returns how many. */
export async function deleteExpiredPreviews(db: Queryable, now: number): Promise<number> {
  const result = await db.deleteFrom('url_previews').where('expires_ts', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
