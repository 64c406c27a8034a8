import type { AppContext } from '../app-context.ts';
import { createRateLimiter, type RateLimiter } from '../http/rate-limit.ts';
import { createMediaMetrics, type MediaMetrics } from './media-metrics.ts';
import { createAddressPolicy, type AddressPolicy } from './previews/ip-ranges.ts';
import { createSemaphore, type Semaphore } from './semaphore.ts';
import { createLocalMediaStorage, type MediaStorage } from './storage.ts';

/** Thumbnails decoded at once per process: a large image can take a few hundred MB while sharp works on it. */
export const THUMBNAIL_CONCURRENCY = 2;

export interface MediaServices {
  storage: MediaStorage;
  /** `rc_media_create`: uploads and `create` calls per user. */
  uploadLimiter: RateLimiter;
  previewAddresses: AddressPolicy;
  thumbnailSlots: Semaphore;
  metrics: MediaMetrics;
}

/**
 * The media repository's long-lived pieces, built once per AppContext from its
 * config. Kept beside the media code rather than in AppContext so the shared
 * wiring does not change; moving them there later is a one-line change here.
 */
const servicesByApp = new WeakMap<AppContext, MediaServices>();

export function mediaServices(app: AppContext): MediaServices {
  let services = servicesByApp.get(app);
  if (!services) {
    services = {
      storage: createLocalMediaStorage(app.config.media_store_path),
      uploadLimiter: createRateLimiter(app.config.rc_media_create, 'media-create', app.rateLimitStore),
      previewAddresses: createAddressPolicy({
        blacklist: app.config.url_preview_ip_range_blacklist,
        whitelist: app.config.url_preview_ip_range_whitelist,
      }),
      thumbnailSlots: createSemaphore(THUMBNAIL_CONCURRENCY),
      metrics: createMediaMetrics(app.metrics.registry),
    };
    servicesByApp.set(app, services);
  }
  return services;
}
