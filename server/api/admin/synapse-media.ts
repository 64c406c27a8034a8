import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { localMediaId } from '../../media/media-ids.ts';
import { deleteMedia, quarantineMedia, unquarantineMedia } from '../../media/quarantine.ts';
import { quarantineRoomMedia } from '../../media/room-quarantine.ts';
import { deleteMediaOfUser, listMediaOfUser } from '../../media/user-media.ts';
import { MediaParams } from '../media/media-params.ts';

const RoomParams = z.object({ roomId: z.string().min(2).max(255).startsWith('!') });
const UserParams = z.object({ userId: z.string().min(2).max(255).startsWith('@') });
/** Most entries one page lists. */
const MAX_PAGE = 1000;
const PageQuery = z.looseObject({
  from: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().positive().max(MAX_PAGE).default(100),
});

/**
 * Synapse's media admin API (the subset Palisade serves), for server admins
 * only: anyone else gets 403 M_FORBIDDEN. Only local media exists here, so
 * another server name is 404 M_NOT_FOUND like an unknown media ID.
 */
export function mountSynapseMediaAdmin(router: Router, app: AppContext): void {
  /** POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId} — never served again until unquarantined. */
  route(
    router,
    app,
    { method: 'POST', path: '/_synapse/admin/v1/media/quarantine/:serverName/:mediaId', auth: 'admin', params: MediaParams },
    async ({ app, caller, params }) => {
      await quarantineMedia(app, localMediaId(app.config.server_name, params.serverName, params.mediaId), caller.userId);
      return {};
    },
  );

  /** POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId} — lifts a quarantine. */
  route(
    router,
    app,
    { method: 'POST', path: '/_synapse/admin/v1/media/unquarantine/:serverName/:mediaId', auth: 'admin', params: MediaParams },
    async ({ app, caller, params }) => {
      await unquarantineMedia(app, localMediaId(app.config.server_name, params.serverName, params.mediaId), caller.userId);
      return {};
    },
  );

  /** DELETE /_synapse/admin/v1/media/{serverName}/{mediaId} — the ID is gone; its bytes too unless another upload shares them. */
  route(
    router,
    app,
    { method: 'DELETE', path: '/_synapse/admin/v1/media/:serverName/:mediaId', auth: 'admin', params: MediaParams },
    async ({ app, caller, params }) => {
      const mediaId = localMediaId(app.config.server_name, params.serverName, params.mediaId);
      await deleteMedia(app, mediaId, caller.userId);
      return { deleted_media: [mediaId], total: 1 };
    },
  );

  /** POST /_synapse/admin/v1/room/{roomId}/media/quarantine — every local media the room's events name in the clear. */
  route(
    router,
    app,
    { method: 'POST', path: '/_synapse/admin/v1/room/:roomId/media/quarantine', auth: 'admin', params: RoomParams },
    async ({ app, caller, params }) => ({ num_quarantined: await quarantineRoomMedia(app, params.roomId, caller.userId) }),
  );

  /** GET /_synapse/admin/v1/users/{userId}/media?from&limit — what a user uploaded, to review before quarantine or delete. */
  route(
    router,
    app,
    { method: 'GET', path: '/_synapse/admin/v1/users/:userId/media', auth: 'admin', params: UserParams, query: PageQuery },
    async ({ app, params, query }) => listMediaOfUser(app, params.userId, query.from, query.limit),
  );

  /** DELETE /_synapse/admin/v1/users/{userId}/media — every media ID the user uploaded (spam clean-up). */
  route(
    router,
    app,
    { method: 'DELETE', path: '/_synapse/admin/v1/users/:userId/media', auth: 'admin', params: UserParams },
    async ({ app, caller, params }) => {
      const deleted = await deleteMediaOfUser(app, params.userId, caller.userId);
      return { deleted_media: deleted, total: deleted.length };
    },
  );
}
