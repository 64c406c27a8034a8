import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { withTransaction } from '../storage/transaction.ts';
import { listThumbnailKeys } from '../storage/queries/media-thumbnails.ts';
import { deleteMediaRow, dropContentReference, setQuarantined } from '../storage/queries/media.ts';
import { mediaServices } from './media-services.ts';
import { contentKey } from './storage.ts';

/**
 * Admin actions on local media (called by the admin API, retention and
 * clean-ups). Quarantined media keeps its bytes for review but is never
 * served again (nor are other IDs holding the same bytes); deleted media
 * loses its ID, and its bytes once no other upload shares them. If the
 * commit of a delete fails after the files went, the rows stay without bytes
 * and are served as 404 (logged), never as someone else's content.
 */

/** Marks a media ID quarantined by `byUserId`; every download and thumbnail of it is 404 from now on. */
export async function quarantineMedia(app: AppContext, mediaId: string, byUserId: string): Promise<void> {
  if (!(await setQuarantined(app.db, mediaId, byUserId))) throw notFound('Unknown media');
  app.logger.info({ mediaId, by: byUserId }, 'media quarantined');
}

/** Lifts a quarantine. */
export async function unquarantineMedia(app: AppContext, mediaId: string, byUserId: string): Promise<void> {
  if (!(await setQuarantined(app.db, mediaId, null))) throw notFound('Unknown media');
  app.logger.info({ mediaId, by: byUserId }, 'media unquarantined');
}

/**
 * Deletes a media ID. When it held the last reference to its content, the
 * content row (and by cascade its thumbnail rows) goes, and the files are
 * removed while the row is still locked, so an identical upload racing with
 * this either waits and re-creates the file or finished before and kept it.
 */
export async function deleteMedia(app: AppContext, mediaId: string, by: string): Promise<void> {
  const { storage } = mediaServices(app);
  await withTransaction(app.db, async (tx) => {
    const row = await deleteMediaRow(tx, mediaId);
    if (!row) throw notFound('Unknown media');
    if (row.sha256 === null) return;
    const thumbnailKeys = await listThumbnailKeys(tx, row.sha256);
    const left = await dropContentReference(tx, row.sha256);
    if (left > 0) return;
    for (const key of [contentKey(row.sha256), ...thumbnailKeys]) await storage.delete(key);
  });
  app.logger.info({ mediaId, by }, 'media deleted');
}
