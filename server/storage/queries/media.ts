import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { MediaRow, NewMediaRow } from '../tables/media.ts';

export async function findMedia(db: Queryable, mediaId: string): Promise<MediaRow | undefined> {
  return db.selectFrom('media').selectAll().where('media_id', '=', mediaId).executeTakeFirst();
}

export async function insertMedia(db: Queryable, row: NewMediaRow): Promise<void> {
  await db.insertInto('media').values(row).execute();
}

/** Bytes the user has stored (every upload counts, even when its content is shared). */
export async function userMediaBytes(db: Queryable, userId: string): Promise<number> {
  const row = await db
    .selectFrom('media')
    .select(sql<number>`coalesce(sum(size), 0)::bigint`.as('total'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

/** `create`d media IDs of the user not yet uploaded and not expired. */
export async function countPendingMedia(db: Queryable, userId: string, now: number): Promise<number> {
  const row = await db
    .selectFrom('media')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('user_id', '=', userId)
    .where('sha256', 'is', null)
    .where('unused_expires_at', '>', now)
    .executeTakeFirstOrThrow();
  return row.count;
}

/**
 * Takes a reference to the content, creating its row on first use. The row
 * stays locked until the transaction ends, so a concurrent delete of the
 * last reference cannot remove the file under us. Returns the new refcount.
 */
export async function addContentReference(tx: Tx, sha256: string, size: number, now: number): Promise<number> {
  const row = await tx
    .insertInto('media_content')
    .values({ sha256, size, refcount: 1, created_ts: now })
    .onConflict((conflict) => conflict.column('sha256').doUpdateSet({ refcount: sql`media_content.refcount + 1` }))
    .returning('refcount')
    .executeTakeFirstOrThrow();
  return row.refcount;
}

/** Drops one reference; returns the refcount left (the row is deleted at zero). */
export async function dropContentReference(tx: Tx, sha256: string): Promise<number> {
  const row = await tx
    .updateTable('media_content')
    .set({ refcount: sql`refcount - 1` })
    .where('sha256', '=', sha256)
    .returning('refcount')
    .executeTakeFirst();
  if (!row) return 0;
  if (row.refcount <= 0) await tx.deleteFrom('media_content').where('sha256', '=', sha256).execute();
  return row.refcount;
}

/** Fills a pending (`create`d) media ID; false if it was filled meanwhile. */
export async function completePendingMedia(
  tx: Tx,
  mediaId: string,
  values: { content_type: string; upload_name: string | null; sha256: string; size: number; uploaded_ts: number },
): Promise<boolean> {
  const result = await tx.updateTable('media').set(values).where('media_id', '=', mediaId).where('sha256', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function setQuarantined(db: Queryable, mediaId: string, by: string | null): Promise<boolean> {
  const result = await db.updateTable('media').set({ quarantined_by: by }).where('media_id', '=', mediaId).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteMediaRow(tx: Tx, mediaId: string): Promise<MediaRow | undefined> {
  return tx.deleteFrom('media').where('media_id', '=', mediaId).returningAll().executeTakeFirst();
}

/** `create`d media IDs never uploaded to and past their `unused_expires_at`; returns how many were deleted. */
export async function deleteExpiredPendingMedia(db: Queryable, now: number): Promise<number> {
  const result = await db.deleteFrom('media').where('sha256', 'is', null).where('unused_expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Serialises one user's uploads until the transaction ends, so concurrent uploads cannot overrun a quota together. */
export async function lockUserUploads(tx: Tx, userId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`media-quota:${userId}`}))`.execute(tx);
}

/** True when any media ID holding these bytes is quarantined: quarantine covers the content, not just one ID. */
export async function isContentQuarantined(db: Queryable, sha256: string): Promise<boolean> {
  const row = await db.selectFrom('media').select('media_id').where('sha256', '=', sha256).where('quarantined_by', 'is not', null).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Quarantines those of `mediaIds` not yet quarantined; returns how many it marked. */
export async function quarantineMediaIds(db: Queryable, mediaIds: readonly string[], by: string): Promise<number> {
  if (mediaIds.length === 0) return 0;
  const result = await db.updateTable('media').set({ quarantined_by: by }).where('media_id', 'in', [...mediaIds]).where('quarantined_by', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** A page of a room's events (content only), in stream order after `afterOrdering`, for scanning their media. */
export async function roomEventContentsPage(db: Queryable, roomId: string, afterOrdering: number, limit: number): Promise<Array<{ stream_ordering: number; content: unknown }>> {
  const rows = await db
    .selectFrom('events')
    .select(['stream_ordering', sql<unknown>`json -> 'content'`.as('content')])
    .where('room_id', '=', roomId)
    .where('stream_ordering', '>', afterOrdering)
    .orderBy('stream_ordering')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ stream_ordering: Number(row.stream_ordering), content: row.content }));
}

/** A page of a user's media, oldest first, and how many they have in all (for the admin API). */
export async function listUserMedia(db: Queryable, userId: string, from: number, limit: number): Promise<{ rows: MediaRow[]; total: number }> {
  const rows = await db.selectFrom('media').selectAll().where('user_id', '=', userId).orderBy('created_ts').orderBy('media_id').offset(from).limit(limit).execute();
  const { total } = await db.selectFrom('media').select(sql<number>`count(*)::int`.as('total')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return { rows, total };
}

/** Every media ID a user uploaded or created. */
export async function userMediaIds(db: Queryable, userId: string): Promise<string[]> {
  return (await db.selectFrom('media').select('media_id').where('user_id', '=', userId).execute()).map((row) => row.media_id);
}
