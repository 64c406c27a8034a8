import { Readable } from 'node:stream';
import sharp from 'sharp';
import type { AppContext } from '../app-context.ts';
import { tooLarge } from '../errors.ts';
import { findThumbnail, insertThumbnail } from '../storage/queries/media-thumbnails.ts';
import { findServableMedia, type LookupOptions } from './download.ts';
import { cannotThumbnail } from './media-errors.ts';
import { mediaServices } from './media-services.ts';
import { contentKey } from './storage.ts';

export type ThumbnailMethod = 'crop' | 'scale';

/** The spec's recommended sizes; a request is served by the smallest one at least as large. */
const COMMON_SIZES: Record<ThumbnailMethod, Array<[number, number]>> = {
  crop: [
    [32, 32],
    [96, 96],
  ],
  scale: [
    [320, 240],
    [640, 480],
    [800, 600],
  ],
};
/** Larger requests are rounded up to this step (bounding how many variants can be cached) and capped. */
const CUSTOM_SIZE_STEP = 100;
export const MAX_THUMBNAIL_DIMENSION = 1600;
/** Sources larger than this are not decoded (the spec's 413 M_TOO_LARGE). */
const MAX_SOURCE_BYTES = 32 * 1024 ** 2;
const MAX_SOURCE_PIXELS = 40_000_000;
const ANIMATABLE = new Set(['image/gif', 'image/webp']);
const THUMBNAILABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export interface ThumbnailRequest {
  width: number;
  height: number;
  method: ThumbnailMethod;
  animated: boolean;
}

export interface Thumbnail {
  stream: Readable;
  size: number;
  contentType: string;
}

/** The size to generate for a request: a common size when one is big enough, else the request rounded up. */
export function thumbnailSize(request: Pick<ThumbnailRequest, 'width' | 'height' | 'method'>): [number, number] {
  const common = COMMON_SIZES[request.method].find(([w, h]) => w >= request.width && h >= request.height);
  if (common) return common;
  const roundUp = (n: number) => Math.min(MAX_THUMBNAIL_DIMENSION, Math.ceil(n / CUSTOM_SIZE_STEP) * CUSTOM_SIZE_STEP);
  return [roundUp(request.width), roundUp(request.height)];
}

/** A thumbnail of a stored image: from the cache, or generated with sharp, stored and recorded. */
export async function getThumbnail(app: AppContext, mediaId: string, request: ThumbnailRequest, lookup: LookupOptions): Promise<Thumbnail> {
  const media = await findServableMedia(app, mediaId, lookup);
  const type = media.content_type.split(';')[0].trim().toLowerCase();
  if (!THUMBNAILABLE.has(type)) throw cannotThumbnail();
  if (media.size > MAX_SOURCE_BYTES) throw tooLarge('Content is too large to thumbnail');
  const [width, height] = thumbnailSize(request);
  // `animated=true` on a type that cannot animate behaves as false (the spec).
  const animated = request.animated && ANIMATABLE.has(type);
  const key = { sha256: media.sha256, width, height, method: request.method, animated };
  const { storage, thumbnailSlots, metrics } = mediaServices(app);

  const cached = await findThumbnail(app.db, key);
  if (cached) {
    const stored = await storage.get(cached.storage_key);
    if (stored) {
      metrics.thumbnails.inc({ result: 'cached' });
      return { stream: stored.stream, size: stored.size, contentType: cached.content_type };
    }
  }

  const { bytes, contentType, extension } = await thumbnailSlots.run(async () => {
    const source = await storage.get(contentKey(media.sha256));
    if (!source) throw cannotThumbnail();
    // A local file is read by sharp itself; a stream (another store) is buffered by sharp, up to MAX_SOURCE_BYTES.
    if (storage.localPath) source.stream.destroy();
    const input = storage.localPath ? storage.localPath(contentKey(media.sha256)) : source.stream;
    return renderThumbnail(input, type, width, height, request.method, animated);
  });
  const storageKey = `thumbnails/${media.sha256.slice(0, 2)}/${media.sha256}/${width}x${height}-${request.method}${animated ? '-animated' : ''}.${extension}`;
  await storage.put(storageKey, Readable.from([bytes]));
  metrics.thumbnails.inc({ result: 'generated' });
  await insertThumbnail(app.db, { ...key, content_type: contentType, size: bytes.length, storage_key: storageKey, created_ts: Date.now() });
  return { stream: Readable.from([bytes]), size: bytes.length, contentType };
}

/**
 * scale: fits inside the box, keeping the aspect ratio; crop: fills the box
 * exactly, cutting the overflow. Never enlarges. Animated output is WebP (the
 * spec's preference); otherwise JPEG stays JPEG and the rest become PNG.
 */
async function renderThumbnail(
  source: Readable | string,
  type: string,
  width: number,
  height: number,
  method: ThumbnailMethod,
  animated: boolean,
): Promise<{ bytes: Buffer; contentType: string; extension: string }> {
  const options = { animated, limitInputPixels: MAX_SOURCE_PIXELS, failOn: 'error' } as const;
  const image = typeof source === 'string' ? sharp(source, options) : sharp(options);
  if (typeof source !== 'string') {
    source.pipe(image);
    source.once('error', (error) => image.destroy(error));
  }
  image.rotate().resize(width, height, { fit: method === 'crop' ? 'cover' : 'inside', withoutEnlargement: true });
  try {
    if (animated) return { bytes: await image.webp().toBuffer(), contentType: 'image/webp', extension: 'webp' };
    if (type === 'image/jpeg') return { bytes: await image.jpeg({ quality: 80 }).toBuffer(), contentType: 'image/jpeg', extension: 'jpg' };
    return { bytes: await image.png().toBuffer(), contentType: 'image/png', extension: 'png' };
  } catch {
    // Not decodable as the type it claims (or too many pixels): the spec's "cannot thumbnail".
    throw cannotThumbnail();
  } finally {
    if (typeof source !== 'string') source.destroy();
  }
}
