import { Counter, type Registry } from 'prom-client';

/** What the media repository adds to the process's Prometheus metrics (HTTP status counts are already there). */
export interface MediaMetrics {
  uploadedBytes: Counter;
  thumbnails: Counter<'result'>;
  previews: Counter<'result'>;
}

export function createMediaMetrics(registry: Registry): MediaMetrics {
  return {
    uploadedBytes: new Counter({
      name: 'palisade_media_uploaded_bytes_total',
      help: 'Bytes of media accepted (uploads and preview images), before de-duplication',
      registers: [registry],
    }),
    thumbnails: new Counter({
      name: 'palisade_media_thumbnails_total',
      help: 'Thumbnails served, by whether they came from the cache or were generated',
      labelNames: ['result'],
      registers: [registry],
    }),
    previews: new Counter({
      name: 'palisade_url_previews_total',
      help: 'URL previews answered, by whether they came from the cache or were fetched',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
