import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { AppContext } from '../app-context.ts';
import { ErrCode, forbidden, MatrixError, notFound, tooLarge } from '../errors.ts';
import { withTransaction } from '../storage/transaction.ts';
import type { Tx } from '../storage/database.ts';
import {
  addContentReference,
  completePendingMedia,
  countPendingMedia,
  findMedia,
  insertMedia,
  isContentQuarantined,
  lockUserUploads,
  userMediaBytes,
} from '../storage/queries/media.ts';
import { cannotOverwrite } from './media-errors.ts';
import { mxcUri, newMediaId } from './media-ids.ts';
import { mediaServices } from './media-services.ts';
import { normaliseContentType, sanitiseFilename } from './serving-headers.ts';
import { spoolToFile, type SpooledFile } from './spool.ts';
import { contentKey } from './storage.ts';

/** How long a `create`d media ID waits for its bytes (the spec's recommended 24 hours). */
export const UNUSED_MEDIA_LIFETIME_MS = 24 * 3_600_000;
/** `create`d IDs a user may have waiting at once (the spec asks for a bound). */
export const MAX_PENDING_UPLOADS = 50;

export interface UploadInput {
  userId: string;
  body: Readable;
  contentType: string | undefined;
  filename: string | undefined;
  /** The request's Content-Length, when it sent one: refused early if already too big. */
  declaredLength: number | undefined;
}

/** POST /media/v1/create: a media ID now, its bytes later. */
export async function createPendingMedia(app: AppContext, userId: string): Promise<{ content_uri: string; unused_expires_at: number }> {
  await mediaServices(app).uploadLimiter.consume(userId);
  const now = Date.now();
  if ((await countPendingMedia(app.db, userId, now)) >= MAX_PENDING_UPLOADS) {
    throw new MatrixError(ErrCode.LIMIT_EXCEEDED, `Too many pending uploads (at most ${MAX_PENDING_UPLOADS}); upload or wait for them to expire`);
  }
  const mediaId = newMediaId();
  const unusedExpiresAt = now + UNUSED_MEDIA_LIFETIME_MS;
  await insertMedia(app.db, {
    media_id: mediaId,
    user_id: userId,
    created_ts: now,
    unused_expires_at: unusedExpiresAt,
    authenticated: app.config.enable_authenticated_media,
  });
  return { content_uri: mxcUri(app.config.server_name, mediaId), unused_expires_at: unusedExpiresAt };
}

/** POST /media/v3/upload: stores the bytes under a new media ID; returns its mxc URI. */
export async function uploadMedia(app: AppContext, input: UploadInput): Promise<string> {
  await mediaServices(app).uploadLimiter.consume(input.userId);
  return storeNewMedia(app, input, { quota: true });
}

/**
 * Media the server fetched itself (a URL preview's image) on behalf of
 * `userId`: stored like an upload, but outside the user's rate limit and quota.
 */
export async function storeFetchedMedia(app: AppContext, input: UploadInput): Promise<string> {
  return storeNewMedia(app, input, { quota: false });
}

async function storeNewMedia(app: AppContext, input: UploadInput, options: { quota: boolean }): Promise<string> {
  const mediaId = newMediaId();
  await storeUpload(app, input, options, async (tx, spooled, now) => {
    await insertMedia(tx, {
      media_id: mediaId,
      user_id: input.userId,
      content_type: normaliseContentType(input.contentType),
      upload_name: sanitiseFilename(input.filename) ?? null,
      sha256: spooled.sha256,
      size: spooled.size,
      created_ts: now,
      uploaded_ts: now,
      authenticated: app.config.enable_authenticated_media,
    });
  });
  return mxcUri(app.config.server_name, mediaId);
}

/** PUT /media/v3/upload/{serverName}/{mediaId}: fills a `create`d ID, once, by its creator. */
export async function uploadToPendingMedia(app: AppContext, mediaId: string, input: UploadInput): Promise<void> {
  await mediaServices(app).uploadLimiter.consume(input.userId);
  const pending = await findMedia(app.db, mediaId);
  if (!pending) throw notFound('Unknown media ID');
  if (pending.user_id !== input.userId) throw forbidden('This media ID was created by another user');
  if (pending.sha256 !== null) throw cannotOverwrite();
  if (pending.unused_expires_at !== null && pending.unused_expires_at <= Date.now()) throw notFound('This media ID has expired');
  await storeUpload(app, input, { quota: true }, async (tx, spooled, now) => {
    const filled = await completePendingMedia(tx, mediaId, {
      content_type: normaliseContentType(input.contentType),
      upload_name: sanitiseFilename(input.filename) ?? null,
      sha256: spooled.sha256,
      size: spooled.size,
      uploaded_ts: now,
    });
    if (!filled) throw cannotOverwrite();
  });
}

/**
 * Checks limits, spools the body (hashing, size-limited), then in one
 * transaction takes a reference to the content, puts the file in the store if
 * it is new, and records the media row. Identical bytes are stored once.
 */
async function storeUpload(
  app: AppContext,
  input: UploadInput,
  options: { quota: boolean },
  record: (tx: Tx, spooled: SpooledFile, now: number) => Promise<void>,
): Promise<void> {
  const maxBytes = app.config.max_upload_size;
  const tooBig = () => tooLarge(`Cannot upload files larger than ${maxBytes} bytes`);
  if (input.declaredLength !== undefined && input.declaredLength > maxBytes) throw tooBig();
  const quota = options.quota ? app.config.media_upload_quota : undefined;
  const used = quota === undefined ? 0 : await userMediaBytes(app.db, input.userId);
  const overQuota = () => forbidden(`Upload quota of ${quota} bytes reached`);
  const room = quota === undefined ? maxBytes : Math.max(0, quota - used);
  if (input.declaredLength !== undefined && input.declaredLength > room) throw overQuota();

  const { storage } = mediaServices(app);
  // The quota is enforced while streaming too: the body stops as soon as it cannot fit.
  const spooled = await spoolToFile(app.config.media_store_path, input.body, Math.min(maxBytes, room), room < maxBytes ? overQuota : tooBig);
  let placedKey: string | undefined;
  try {
    await withTransaction(app.db, async (tx) => {
      if (quota !== undefined) {
        // Checked again under a per-user lock: uploads that passed the first check together cannot all fit.
        await lockUserUploads(tx, input.userId);
        if ((await userMediaBytes(tx, input.userId)) + spooled.size > quota) throw overQuota();
      }
      if (await isContentQuarantined(tx, spooled.sha256)) throw forbidden('This content has been quarantined by a server admin');
      const now = Date.now();
      // The content row stays locked until commit, so the last reference cannot be deleted meanwhile.
      const references = await addContentReference(tx, spooled.sha256, spooled.size, now);
      const key = contentKey(spooled.sha256);
      if (references === 1 || !(await storage.get(key).then((found) => (found?.stream.destroy(), found !== undefined)))) {
        if (storage.putFile) await storage.putFile(key, spooled.path);
        else await storage.put(key, createReadStream(spooled.path));
        if (references === 1) placedKey = key;
      }
      await record(tx, spooled, now);
    });
    mediaServices(app).metrics.uploadedBytes.inc(spooled.size);
  } catch (error) {
    // Rolled back: a file we placed for content nobody else references must not stay behind.
    if (placedKey) await storage.delete(placedKey).catch(() => undefined);
    throw error;
  } finally {
    await spooled.discard();
  }
}
