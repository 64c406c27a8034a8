import type { Queryable } from '../database.ts';
import type { MediaThumbnailRow } from '../tables/media.ts';

type ThumbnailKey = Pick<MediaThumbnailRow, 'sha256' | 'width' | 'height' | 'method' | 'animated'>;

export async function findThumbnail(db: Queryable, key: ThumbnailKey): Promise<MediaThumbnailRow | undefined> {
  return db
    .selectFrom('media_thumbnails')
    .selectAll()
    .where('sha256', '=', key.sha256)
    .where('width', '=', key.width)
    .where('height', '=', key.height)
    .where('method', '=', key.method)
    .where('animated', '=', key.animated)
    .executeTakeFirst();
}

/** Records a generated thumbnail; a concurrent identical one wins silently (same bytes). */
export async function insertThumbnail(db: Queryable, row: MediaThumbnailRow): Promise<void> {
  await db.insertInto('media_thumbnails').values(row).onConflict((conflict) => conflict.doNothing()).execute();
}

export async function listThumbnailKeys(db: Queryable, sha256: string): Promise<string[]> {
  const rows = await db.selectFrom('media_thumbnails').select('storage_key').where('sha256', '=', sha256).execute();
  return rows.map((row) => row.storage_key);
}
