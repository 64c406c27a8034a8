import type { AppContext } from '../app-context.ts';
import { listRoomSummaries, type RoomListingOrder } from '../storage/queries/room-listing.ts';

/** Most channels one page lists. */
export const MAX_CHANNELS_PAGE = 500;

export interface ChannelListQuery {
  search?: string;
  orderBy: RoomListingOrder;
  dir: 'f' | 'b';
  from: number;
  limit: number;
  /** Every room, not only those with a channel policy row. */
  includeRooms: boolean;
}

const JOINING: Record<string, 'invite' | 'knock' | 'open'> = { public: 'open', knock: 'knock' };

/**
 * The organisation's channels for server admins: rooms made or managed through
 * the channel admin API (those with a policy row), or every room with
 * `includeRooms`, searched by name, alias, topic or room ID and paged by offset
 * (`next_batch` is the next `from`).
 */
export async function listChannels(app: AppContext, query: ChannelListQuery) {
  const { rows, total } = await listRoomSummaries(app.db, {
    search: query.search,
    orderBy: query.orderBy,
    dir: query.dir,
    offset: query.from,
    limit: Math.min(query.limit, MAX_CHANNELS_PAGE),
    onlyChannels: !query.includeRooms,
    serverName: app.config.server_name,
  });
  return {
    channels: rows.map((row) => ({
      room_id: row.room_id,
      name: row.name,
      topic: row.topic,
      canonical_alias: row.canonical_alias,
      room_type: row.room_type,
      joined_members: row.joined_members,
      is_channel: row.is_channel,
      visibility: row.public ? ('public' as const) : ('private' as const),
      encryption: row.encryption ? ('required' as const) : ('off' as const),
      joining: JOINING[row.join_rules ?? ''] ?? ('invite' as const),
    })),
    total,
    ...(query.from + rows.length < total ? { next_batch: String(query.from + rows.length) } : {}),
  };
}
