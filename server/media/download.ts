import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { findMedia, isContentQuarantined } from '../storage/queries/media.ts';
import type { MediaRow } from '../storage/tables/media.ts';
import { notYetUploaded } from './media-errors.ts';
import { mediaServices } from './media-services.ts';
import { contentKey } from './storage.ts';

/** The spec's default `timeout_ms`, and the most we wait whatever the client asks. */
export const DEFAULT_MEDIA_WAIT_MS = 20_000;
export const MAX_MEDIA_WAIT_MS = 60_000;
/** How often a download waiting for an async upload looks again. */
const PENDING_POLL_MS = 250;

export interface LookupOptions {
  /** Through a deprecated unauthenticated endpoint: media uploaded during the freeze is not served there. */
  legacy: boolean;
  timeoutMs: number | undefined;
}

export type UploadedMedia = MediaRow & { sha256: string; size: number; content_type: string };

/**
 * The media row to serve, waiting up to `timeoutMs` for a pending async
 * upload. Unknown, quarantined (this ID, or another holding the same bytes),
 * expired and (on legacy endpoints) frozen media are all the same 404, so
 * nothing about them leaks.
 */
export async function findServableMedia(app: AppContext, mediaId: string, options: LookupOptions): Promise<UploadedMedia> {
  const deadline = Date.now() + Math.min(options.timeoutMs ?? DEFAULT_MEDIA_WAIT_MS, MAX_MEDIA_WAIT_MS);
  for (;;) {
    const row = await findMedia(app.db, mediaId);
    if (!row || row.quarantined_by !== null) throw notFound('Unknown media');
    if (options.legacy && row.authenticated) throw notFound('Unknown media (this media is only served on the authenticated endpoints)');
    if (row.sha256 !== null && row.size !== null) {
      if (await isContentQuarantined(app.db, row.sha256)) throw notFound('Unknown media');
      return { ...row, sha256: row.sha256, size: row.size, content_type: row.content_type ?? 'application/octet-stream' };
    }
    if (row.unused_expires_at !== null && row.unused_expires_at <= Date.now()) throw notFound('Unknown media');
    if (Date.now() >= deadline) throw notYetUploaded();
    await delay(Math.min(PENDING_POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

export interface MediaDownload {
  media: UploadedMedia;
  stream: Readable;
  size: number;
}

/** The stored bytes of a media ID, as a stream. */
export async function openMedia(app: AppContext, mediaId: string, options: LookupOptions): Promise<MediaDownload> {
  const media = await findServableMedia(app, mediaId, options);
  const stored = await mediaServices(app).storage.get(contentKey(media.sha256));
  if (!stored) {
    app.logger.warn({ mediaId, sha256: media.sha256 }, 'media row without stored content');
    throw notFound('Unknown media');
  }
  return { media, stream: stored.stream, size: stored.size };
}
