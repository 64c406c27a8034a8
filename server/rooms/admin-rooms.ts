import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, notFound } from '../errors.ts';
import { requireChannelRole } from '../channels/channel-access.ts';
import { closeRoom } from '../channels/channel-close.ts';
import { joinedDevicesOfLocalMembers, listRoomSummaries, roomMembersPage, type RoomListingOrder, type RoomListingRow } from '../storage/queries/room-listing.ts';
import { aliasesOfRoom, deleteAlias, findRoom } from '../storage/queries/rooms.ts';

/** Synapse's `limit` has no maximum; ours does. */
export const MAX_ADMIN_ROOMS_PAGE = 1000;
/** Most members one answer lists (Synapse lists them all; a room this big is not an organisation channel). */
export const MAX_ADMIN_ROOM_MEMBERS = 10_000;

/** Synapse's deprecated order names. */
const ORDER_ALIASES: Record<string, RoomListingOrder> = { alphabetical: 'name', size: 'joined_members' };

export function adminRoomOrder(orderBy: string): RoomListingOrder {
  return ORDER_ALIASES[orderBy] ?? (orderBy as RoomListingOrder);
}

/** A room as Synapse's list shows it (this server does not federate, so `federatable` is always false). */
function listed(row: RoomListingRow) {
  return {
    room_id: row.room_id,
    name: row.name,
    canonical_alias: row.canonical_alias,
    joined_members: row.joined_members,
    joined_local_members: row.joined_local_members,
    version: row.version,
    creator: row.creator,
    encryption: row.encryption,
    federatable: false,
    public: row.public,
    join_rules: row.join_rules,
    guest_access: row.guest_access,
    history_visibility: row.history_visibility,
    state_events: row.state_events,
    room_type: row.room_type,
  };
}

/** GET /_synapse/admin/v1/rooms: offset pagination, `next_batch`/`prev_batch` as numbers, as Synapse answers. */
export async function adminListRooms(app: AppContext, query: { from: number; limit: number; orderBy: RoomListingOrder; dir: 'f' | 'b'; searchTerm?: string }) {
  const limit = Math.min(query.limit, MAX_ADMIN_ROOMS_PAGE);
  const { rows, total } = await listRoomSummaries(app.db, {
    search: query.searchTerm,
    orderBy: query.orderBy,
    dir: query.dir,
    offset: query.from,
    limit,
    serverName: app.config.server_name,
  });
  return {
    rooms: rows.map(listed),
    offset: query.from,
    total_rooms: total,
    ...(query.from + rows.length < total ? { next_batch: query.from + rows.length } : {}),
    ...(query.from > 0 ? { prev_batch: Math.max(0, query.from - limit) } : {}),
  };
}

/** GET /_synapse/admin/v1/rooms/{roomId}: the list's fields and topic, avatar and joined local devices. */
export async function adminRoomDetails(app: AppContext, roomId: string) {
  const row = (await listRoomSummaries(app.db, { roomId, orderBy: 'name', dir: 'f', offset: 0, limit: 1, serverName: app.config.server_name })).rows[0];
  if (!row) throw notFound(`Room ${roomId} is not known to this server`);
  return { ...listed(row), topic: row.topic, avatar: row.avatar, joined_local_devices: await joinedDevicesOfLocalMembers(app.db, roomId, app.config.server_name) };
}

/** GET /_synapse/admin/v1/rooms/{roomId}/members: joined members' IDs. */
export async function adminRoomMembers(app: AppContext, roomId: string) {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const { rows, total } = await roomMembersPage(app.db, roomId, ['join'], 0, MAX_ADMIN_ROOM_MEMBERS);
  return { members: rows.map((row) => row.user_id), total };
}

/**
 * DELETE /_synapse/admin/v1/rooms/{roomId}: Synapse's room shutdown without a
 * replacement room, built on closing a channel (join rule invite when a local
 * member still may set it, delisted, every member removed, `purge` purges the
 * history as retention does; current state is kept) and removing the room's
 * local aliases. `block` is accepted
 * and answered as not supported (400) when true: there is no room blocking.
 */
export async function adminDeleteRoom(app: AppContext, caller: { userId: string; isAdmin: boolean }, roomId: string, options: { purge: boolean; message?: string }) {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  // Shut down even when no local member may change the join rule any more (an abandoned room).
  const sender = await requireChannelRole(app, caller, roomId, 'admin').then(
    (access) => access.sender,
    (error: unknown) => {
      if (error instanceof MatrixError && error.errcode === ErrCode.FORBIDDEN) return undefined;
      throw error;
    },
  );
  const { removed, failed } = await closeRoom(app, caller, roomId, sender, { purge: options.purge, reason: options.message });
  const aliases = await aliasesOfRoom(app.db, roomId);
  for (const alias of aliases) await deleteAlias(app.db, alias);
  return { kicked_users: removed, failed_to_kick_users: failed, local_aliases: aliases, new_room_id: null };
}
