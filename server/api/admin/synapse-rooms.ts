import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { invalidParam } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { adminDeleteRoom, adminListRooms, adminRoomDetails, adminRoomMembers, adminRoomOrder, MAX_ADMIN_ROOMS_PAGE } from '../../rooms/admin-rooms.ts';
import { ROOM_LISTING_ORDERS } from '../../storage/queries/room-listing.ts';

const RoomParams = z.object({ roomId: z.string().min(2).max(255).startsWith('!') });
const MAX_SEARCH = 200;
const RoomsQuery = z.looseObject({
  from: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().nonnegative().max(MAX_ADMIN_ROOMS_PAGE).default(100),
  order_by: z.enum([...ROOM_LISTING_ORDERS, 'alphabetical', 'size']).default('name'),
  dir: z.enum(['f', 'b']).default('f'),
  search_term: z.string().min(1).max(MAX_SEARCH).optional(),
});
const DeleteBody = z.looseObject({
  block: z.boolean().default(false),
  purge: z.boolean().default(true),
  message: z.string().max(500).optional(),
  new_room_user_id: z.string().max(255).optional(),
  force_purge: z.boolean().optional(),
  room_name: z.string().max(255).optional(),
});

/**
 * Synapse's room admin API (the subset Palisade serves), for server admins
 * only: anyone else gets 403 M_FORBIDDEN; an unknown room is 404 M_NOT_FOUND.
 */
export function mountSynapseRoomsAdmin(router: Router, app: AppContext): void {
  /** GET /_synapse/admin/v1/rooms — search, order and page every room. */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v1/rooms', auth: 'admin', query: RoomsQuery }, ({ app, query }) =>
    adminListRooms(app, { from: query.from, limit: query.limit, orderBy: adminRoomOrder(query.order_by), dir: query.dir, searchTerm: query.search_term }),
  );

  /** GET /_synapse/admin/v1/rooms/{roomId} — one room's details. */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v1/rooms/:roomId', auth: 'admin', params: RoomParams }, ({ app, params }) => adminRoomDetails(app, params.roomId));

  /** GET /_synapse/admin/v1/rooms/{roomId}/members — joined members. */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v1/rooms/:roomId/members', auth: 'admin', params: RoomParams }, ({ app, params }) => adminRoomMembers(app, params.roomId));

  /** DELETE /_synapse/admin/v1/rooms/{roomId} — shut the room down (no replacement room, no blocking). */
  route(router, app, { method: 'DELETE', path: '/_synapse/admin/v1/rooms/:roomId', auth: 'admin', params: RoomParams, body: DeleteBody }, async ({ app, caller, params, body }) => {
    if (body.block) throw invalidParam('block: blocking rooms is not supported by this server');
    if (body.new_room_user_id !== undefined) throw invalidParam('new_room_user_id: moving members to a replacement room is not supported by this server');
    return adminDeleteRoom(app, caller, params.roomId, { purge: body.purge, message: body.message });
  });
}
