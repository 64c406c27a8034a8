import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { Reply, route } from '../../http/route.ts';
import { openMedia } from '../../media/download.ts';
import { localMediaId } from '../../media/media-ids.ts';
import { contentDisposition, MEDIA_CSP, mediaHeaders, sanitiseFilename } from '../../media/serving-headers.ts';
import { getThumbnail } from '../../media/thumbnails.ts';
import { DownloadQuery, MediaParams, ThumbnailQuery } from './media-params.ts';

const AUTHED = '/_matrix/client/v1/media';
/** Deprecated and unauthenticated; media uploaded during the freeze (`enable_authenticated_media`) is 404 here. */
const LEGACY = '/_matrix/media/v3';

export function mountMediaDownload(router: Router, app: AppContext): void {
  for (const legacy of [false, true]) {
    const base = legacy ? LEGACY : AUTHED;
    const auth = legacy ? 'none' : 'user';

    /** GET …/download/{serverName}/{mediaId}[/{fileName}] — the bytes, streamed, with CSP, nosniff and a safe disposition. */
    route(
      router,
      app,
      { method: 'GET', path: [`${base}/download/:serverName/:mediaId`, `${base}/download/:serverName/:mediaId/:fileName`], auth, params: MediaParams, query: DownloadQuery },
      async ({ app, params, query }) => {
        const mediaId = localMediaId(app.config.server_name, params.serverName, params.mediaId);
        const { media, stream, size } = await openMedia(app, mediaId, { legacy, timeoutMs: query.timeout_ms });
        const filename = params.fileName !== undefined ? sanitiseFilename(params.fileName) : (media.upload_name ?? undefined);
        return new Reply(200, stream, mediaHeaders(media.content_type, filename, size));
      },
    );

    /** GET …/thumbnail/{serverName}/{mediaId} — JPEG/PNG/GIF/WebP images; anything else is 400 M_UNKNOWN (the spec). */
    route(
      router,
      app,
      { method: 'GET', path: `${base}/thumbnail/:serverName/:mediaId`, auth, params: MediaParams, query: ThumbnailQuery },
      async ({ app, params, query }) => {
        const mediaId = localMediaId(app.config.server_name, params.serverName, params.mediaId);
        const request = { width: query.width, height: query.height, method: query.method, animated: query.animated ?? false };
        const thumbnail = await getThumbnail(app, mediaId, request, { legacy, timeoutMs: query.timeout_ms });
        const extension = thumbnail.contentType.split('/')[1];
        return new Reply(200, thumbnail.stream, {
          ...mediaHeaders(thumbnail.contentType, undefined, thumbnail.size),
          'content-disposition': contentDisposition('inline', `thumbnail.${extension}`),
          'content-security-policy': MEDIA_CSP,
        });
      },
    );
  }
}
