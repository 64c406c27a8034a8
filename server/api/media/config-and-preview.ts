import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { previewUrl } from '../../media/previews/preview.ts';

const MAX_PREVIEW_URL_CHARS = 2048;
const PreviewQuery = z.looseObject({
  url: z.string().min(1).max(MAX_PREVIEW_URL_CHARS),
  ts: z.coerce.number().int().nonnegative().optional(),
  /** Palisade's extension: the room the link was posted in, whose preview policy then applies. */
  room_id: z.string().min(1).max(255).startsWith('!').optional(),
});

export function mountMediaConfigAndPreview(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v1/media/config (and the deprecated /_matrix/media/v3/config) — m.upload.size. */
  route(router, app, { method: 'GET', path: ['/_matrix/client/v1/media/config', '/_matrix/media/v3/config'], auth: 'user' }, ({ app }) => ({
    'm.upload.size': app.config.max_upload_size,
  }));

  /**
   * GET /_matrix/client/v1/media/preview_url (and /_matrix/media/v3/preview_url) — OpenGraph data of a page the
   * server fetches itself, only when `url_preview_enabled`; private and loopback addresses are refused;
   * with `room_id`, refused unless the caller is in that room and its `org.matrix.room.preview_urls` allows previews.
   */
  route(
    router,
    app,
    { method: 'GET', path: ['/_matrix/client/v1/media/preview_url', '/_matrix/media/v3/preview_url'], auth: 'user', query: PreviewQuery },
    async ({ app, caller, query }) => previewUrl(app, caller.userId, query.url, query.room_id),
  );
}
