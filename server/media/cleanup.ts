import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppContext } from '../app-context.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { deleteExpiredPreviews } from '../storage/queries/media-previews.ts';
import { deleteExpiredPendingMedia } from '../storage/queries/media.ts';

export const MEDIA_CLEANUP_JOB = 'media.cleanup';
export const MEDIA_CLEANUP_INTERVAL_MS = 60 * 60 * 1000;
/** A spool file this old belongs to no upload in flight (a process died mid-upload). */
export const STALE_SPOOL_MS = 6 * 60 * 60 * 1000;

export interface MediaCleanupResult {
  pendingMedia: number;
  previews: number;
  spoolFiles: number;
}

/**
 * Reclaims what nothing will use again: `create`d media IDs whose upload
 * window passed (already never served), expired URL preview cache rows, and
 * spool files left by a process that stopped mid-upload.
 */
export async function cleanUpMedia(app: AppContext, now = Date.now()): Promise<MediaCleanupResult> {
  const pendingMedia = await deleteExpiredPendingMedia(app.db, now);
  const previews = await deleteExpiredPreviews(app.db, now);
  let spoolFiles = 0;
  const spoolDir = join(app.config.media_store_path, 'tmp');
  for (const name of await readdir(spoolDir).catch(() => [] as string[])) {
    const path = join(spoolDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_SPOOL_MS) {
      await rm(path, { force: true });
      spoolFiles++;
    }
  }
  return { pendingMedia, previews, spoolFiles };
}

/**
 * Runs `cleanUpMedia` hourly (scheduled by `defineJobs`). Logs counts only.
 */
export async function scheduleMediaCleanup(queue: JobQueue, app: AppContext): Promise<void> {
  queue.define<Record<string, never>>({
    name: MEDIA_CLEANUP_JOB,
    concurrency: 1,
    async handle() {
      const result = await cleanUpMedia(app);
      if (result.pendingMedia + result.previews + result.spoolFiles > 0) app.logger.info(result, 'media cleaned up');
    },
  });
  await queue.every(MEDIA_CLEANUP_JOB, MEDIA_CLEANUP_INTERVAL_MS, {});
}
