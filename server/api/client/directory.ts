import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { createAlias, localAliases, lookUpAlias, removeAlias } from '../../rooms/aliases.ts';
import { listPublishedRooms, roomDirectoryVisibility, setRoomDirectoryVisibility } from '../../rooms/room-directory.ts';
import { invalidParam } from '../../errors.ts';
import { RoomId, RoomParams } from './room-params.ts';

const AliasParams = z.object({ roomAlias: z.string().min(1).max(255) });
const ALIAS_PATH = '/_matrix/client/v3/directory/room/:roomAlias';
const VISIBILITY_PATH = '/_matrix/client/v3/directory/list/room/:roomId';
const MAX_DIRECTORY_LIMIT = 500;
const DirectoryQuery = z.object({
  limit: z.coerce.number().int().min(0).max(MAX_DIRECTORY_LIMIT).optional(),
  since: z.string().max(64).optional(),
  server: z.string().max(255).optional(),
});
const DirectorySearch = z.looseObject({
  limit: z.number().int().min(0).max(MAX_DIRECTORY_LIMIT).optional(),
  since: z.string().max(64).optional(),
  filter: z.looseObject({ generic_search_term: z.string().max(256).optional(), room_types: z.array(z.string().nullable()).max(50).optional() }).optional(),
  include_all_networks: z.boolean().optional(),
  third_party_instance_id: z.string().optional(),
});

export function mountDirectory(router: Router, app: AppContext): void {
  /** PUT /_matrix/client/v3/directory/room/{roomAlias} — members only; a taken alias is 409. */
  route(router, app, { method: 'PUT', path: ALIAS_PATH, auth: 'user', params: AliasParams, body: z.looseObject({ room_id: RoomId }) }, async ({ app, caller, params, body }) => {
    await createAlias(app, caller.userId, params.roomAlias, body.room_id, caller.appservice);
    return {};
  });

  /** GET /_matrix/client/v3/directory/room/{roomAlias} — public lookup. */
  route(router, app, { method: 'GET', path: ALIAS_PATH, auth: 'none', params: AliasParams }, async ({ app, params }) => lookUpAlias(app, params.roomAlias));

  /** DELETE /_matrix/client/v3/directory/room/{roomAlias} — its creator, a server admin, or a room moderator. */
  route(router, app, { method: 'DELETE', path: ALIAS_PATH, auth: 'user', params: AliasParams }, async ({ app, caller, params }) => {
    await removeAlias(app, caller, params.roomAlias);
    return {};
  });

  /** GET /_matrix/client/v3/rooms/{roomId}/aliases — members, or anyone for world-readable rooms. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/aliases', auth: 'user', params: RoomParams }, async ({ app, caller, params }) => ({
    aliases: await localAliases(app, caller.userId, params.roomId),
  }));

  /** GET /_matrix/client/v3/directory/list/room/{roomId} — public. */
  route(router, app, { method: 'GET', path: VISIBILITY_PATH, auth: 'none', params: RoomParams }, async ({ app, params }) => ({
    visibility: await roomDirectoryVisibility(app, params.roomId),
  }));

  /** PUT /_matrix/client/v3/directory/list/room/{roomId} — a room moderator or a server admin. */
  route(
    router,
    app,
    { method: 'PUT', path: VISIBILITY_PATH, auth: 'user', params: RoomParams, body: z.looseObject({ visibility: z.enum(['public', 'private']).default('public') }) },
    async ({ app, caller, params, body }) => {
      await setRoomDirectoryVisibility(app, caller, params.roomId, body.visibility);
      return {};
    },
  );

  /** GET /_matrix/client/v3/publicRooms — this server's directory; other servers' are not reachable (no federation). */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/publicRooms', auth: 'user', query: DirectoryQuery }, async ({ app, query }) => {
    onlyThisServer(app, query.server);
    return listPublishedRooms(app, { limit: query.limit, since: query.since, searchTerm: undefined, roomTypes: undefined });
  });

  /** POST /_matrix/client/v3/publicRooms — with a search term and room types. */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/v3/publicRooms', auth: 'user', query: z.object({ server: z.string().max(255).optional() }), body: DirectorySearch },
    async ({ app, query, body }) => {
      onlyThisServer(app, query.server);
      return listPublishedRooms(app, { limit: body.limit, since: body.since, searchTerm: body.filter?.generic_search_term, roomTypes: body.filter?.room_types });
    },
  );
}

function onlyThisServer(app: AppContext, server: string | undefined): void {
  if (server !== undefined && server !== app.config.server_name) throw invalidParam(`Cannot list ${server}'s rooms: this server does not federate`);
}
