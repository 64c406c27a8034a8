import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { localMediaId } from '../../media/media-ids.ts';
import { createPendingMedia, uploadMedia, uploadToPendingMedia } from '../../media/upload.ts';
import { MediaParams } from './media-params.ts';

const UploadQuery = z.looseObject({ filename: z.string().max(1024).optional() });

export function mountMediaUpload(router: Router, app: AppContext): void {
  /** POST /_matrix/media/v3/upload — the body streamed to storage; max_upload_size, rate limit and quota enforced. */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/media/v3/upload', auth: 'user', query: UploadQuery, rawBody: true },
    async ({ app, caller, query, raw }) => ({
      content_uri: await uploadMedia(app, {
        userId: caller.userId,
        body: raw!.stream,
        contentType: raw!.contentType,
        filename: query.filename,
        declaredLength: raw!.contentLength,
      }),
    }),
  );

  /** POST /_matrix/media/v1/create — a media ID to upload to later (expires unused after 24 h). */
  route(router, app, { method: 'POST', path: '/_matrix/media/v1/create', auth: 'user' }, async ({ app, caller }) =>
    createPendingMedia(app, caller.userId),
  );

  /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId} — fills a created ID once (409 M_CANNOT_OVERWRITE_MEDIA after). */
  route(
    router,
    app,
    { method: 'PUT', path: '/_matrix/media/v3/upload/:serverName/:mediaId', auth: 'user', params: MediaParams, query: UploadQuery, rawBody: true },
    async ({ app, caller, params, query, raw }) => {
      await uploadToPendingMedia(app, localMediaId(app.config.server_name, params.serverName, params.mediaId), {
        userId: caller.userId,
        body: raw!.stream,
        contentType: raw!.contentType,
        filename: query.filename,
        declaredLength: raw!.contentLength,
      });
      return {};
    },
  );
}
