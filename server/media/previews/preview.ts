import { Transform } from 'node:stream';
import type { AppContext } from '../../app-context.ts';
import { unrecognized } from '../../errors.ts';
import { findCachedPreview, storePreview } from '../../storage/queries/media-previews.ts';
import { storeFetchedMedia } from '../upload.ts';
import { mediaServices } from '../media-services.ts';
import { charsetOf, parseHtmlMeta } from './html-meta.ts';
import { assertPreviewAllowedInRoom } from './room-policy.ts';
import { checkUrl, guardedGet, type FetchGuards, type GuardedResponse } from './safe-fetch.ts';
import { createUrlBlacklist } from './url-blacklist.ts';

/** How long a fetched preview is served from the cache before the page is fetched again. */
export const PREVIEW_CACHE_TTL_MS = 3_600_000;
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const NUMERIC_OG_KEYS = new Set(['og:image:width', 'og:image:height']);

export type OpenGraph = Record<string, string | number>;

/**
 * GET preview_url: the OpenGraph data of `url`, fetched by the server (so the
 * reader's address stays hidden from the linked site), its image stored as
 * media. Cached per URL for PREVIEW_CACHE_TTL_MS; failures are not cached.
 * With `roomId` (the room the link was posted in), the room's policy decides first.
 */
export async function previewUrl(app: AppContext, userId: string, url: string, roomId?: string): Promise<OpenGraph> {
  if (!app.config.url_preview_enabled) throw unrecognized('URL previews are disabled on this server');
  await assertPreviewAllowedInRoom(app, userId, roomId);
  const guards = previewGuards(app);
  const cacheKey = checkUrl(url, guards.urls).toString();
  const cached = await findCachedPreview(app.db, cacheKey, Date.now());
  const { uploadLimiter, metrics } = mediaServices(app);
  if (cached) {
    metrics.previews.inc({ result: 'cached' });
    return cached as OpenGraph;
  }

  // A fetch (and the image it may store) counts against the user's media budget; cached answers do not.
  await uploadLimiter.consume(userId);
  const og = await fetchPreview(app, userId, cacheKey, guards);
  metrics.previews.inc({ result: 'fetched' });
  await storePreview(app.db, cacheKey, og, Date.now(), PREVIEW_CACHE_TTL_MS);
  return og;
}

function previewGuards(app: AppContext): FetchGuards {
  return { addresses: mediaServices(app).previewAddresses, urls: createUrlBlacklist(app.config.url_preview_url_blacklist) };
}

function limits(app: AppContext) {
  return { maxBytes: app.config.max_spider_size, timeoutMs: app.config.url_preview_fetch_timeout };
}

async function fetchPreview(app: AppContext, userId: string, url: string, guards: FetchGuards): Promise<OpenGraph> {
  const page = await guardedGet(url, guards, limits(app));
  try {
    const type = essence(page.contentType);
    if (type.startsWith('image/')) return await storeImage(app, userId, page);
    if (!HTML_TYPES.has(type)) return {};
    const meta = await parseHtmlMeta(page.body, charsetOf(page.contentType));
    const og: OpenGraph = {};
    for (const [key, value] of Object.entries(meta)) {
      if (key === 'og:image' || key.startsWith('og:image:')) continue;
      og[key] = value;
    }
    const imageUrl = meta['og:image'] ?? meta['og:image:url'] ?? meta['og:image:secure_url'];
    if (imageUrl) Object.assign(og, await previewImage(app, userId, page.url, imageUrl, guards, meta));
    return og;
  } finally {
    page.close();
  }
}

/** Fetches and stores the page's image; a page whose image cannot be had still gets its text preview. */
async function previewImage(app: AppContext, userId: string, pageUrl: URL, imageUrl: string, guards: FetchGuards, meta: Record<string, string>): Promise<OpenGraph> {
  let resolved: string;
  try {
    resolved = new URL(imageUrl, pageUrl).toString();
  } catch {
    return {};
  }
  try {
    const image = await guardedGet(resolved, guards, limits(app));
    try {
      if (!essence(image.contentType).startsWith('image/')) return {};
      const stored = await storeImage(app, userId, image);
      for (const key of NUMERIC_OG_KEYS) {
        const value = Number(meta[key]);
        if (Number.isInteger(value) && value > 0) stored[key] = value;
      }
      return stored;
    } finally {
      image.close();
    }
  } catch (error) {
    app.logger.info({ err: error, imageUrl: resolved }, 'preview image not fetched');
    return {};
  }
}

async function storeImage(app: AppContext, userId: string, response: GuardedResponse): Promise<OpenGraph> {
  let size = 0;
  const counted = response.body.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    }),
  );
  response.body.once('error', (error) => counted.destroy(error));
  const type = essence(response.contentType);
  const mxc = await storeFetchedMedia(app, { userId, body: counted, contentType: type, filename: undefined, declaredLength: undefined });
  return { 'og:image': mxc, 'og:image:type': type, 'matrix:image:size': size };
}

function essence(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}
