import { sql, type RawBuilder } from 'kysely';
import type { Queryable } from '../database.ts';

/** One room as the admin listings show it: its summary state, member counts and directory flag. */
export interface RoomListingRow {
  room_id: string;
  name: string | null;
  topic: string | null;
  avatar: string | null;
  canonical_alias: string | null;
  joined_members: number;
  joined_local_members: number;
  version: string;
  creator: string;
  encryption: string | null;
  public: boolean;
  join_rules: string | null;
  guest_access: string | null;
  history_visibility: string | null;
  room_type: string | null;
  state_events: number;
  /** Whether the room has a channel_policies row (made or managed through the channel admin API). */
  is_channel: boolean;
}

export const ROOM_LISTING_ORDERS = [
  'name',
  'canonical_alias',
  'joined_members',
  'joined_local_members',
  'version',
  'creator',
  'encryption',
  'public',
  'join_rules',
  'guest_access',
  'history_visibility',
  'state_events',
  'created',
] as const;
export type RoomListingOrder = (typeof ROOM_LISTING_ORDERS)[number];

export interface RoomListingQuery {
  /** Case-insensitive substring of the name, canonical alias, topic or room ID. */
  search?: string;
  orderBy: RoomListingOrder;
  /** `f` as Synapse defines each order (names A→Z, counts largest first); `b` reverses it. */
  dir: 'f' | 'b';
  offset: number;
  limit: number;
  onlyChannels?: boolean;
  /** Only this room (the details of one). */
  roomId?: string;
  /** Local members are those whose ID ends with `:serverName`. */
  serverName: string;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A LIKE pattern matching this server's user IDs. */
function localUsersPattern(serverName: string): string {
  return `%:${escapeLike(serverName)}`;
}

/** A string field of a current state event's content, or null (wrong type or no such state). */
function stateText(type: string, field: string): RawBuilder<string | null> {
  return sql<string | null>`(SELECT CASE WHEN jsonb_typeof(e.json->'content'->${field}) = 'string' THEN e.json->'content'->>${field} END
    FROM current_state cs JOIN events e ON e.event_id = cs.event_id
    WHERE cs.room_id = r.room_id AND cs.type = ${type} AND cs.state_key = '')`;
}

/** Counts ordered largest first by default, as Synapse's list does; text A→Z. */
const DESCENDING_BY_DEFAULT = new Set<RoomListingOrder>(['joined_members', 'joined_local_members', 'version', 'state_events', 'public', 'created']);

/**
 * Rooms with their summaries, searched, ordered and paged in one query, with
 * the total matching count. Summary fields are read from current state per
 * room, which suits an organisation's few thousand rooms; a summary table is
 * the next step beyond that.
 */
export async function listRoomSummaries(db: Queryable, query: RoomListingQuery): Promise<{ rows: RoomListingRow[]; total: number }> {
  const localSuffix = localUsersPattern(query.serverName);
  const summaries = sql`SELECT r.room_id, r.room_version AS version, r.creator, r.is_public AS public, r.created_ts,
      ${stateText('m.room.name', 'name')} AS name,
      ${stateText('m.room.topic', 'topic')} AS topic,
      ${stateText('m.room.avatar', 'url')} AS avatar,
      ${stateText('m.room.canonical_alias', 'alias')} AS canonical_alias,
      ${stateText('m.room.encryption', 'algorithm')} AS encryption,
      ${stateText('m.room.join_rules', 'join_rule')} AS join_rules,
      ${stateText('m.room.guest_access', 'guest_access')} AS guest_access,
      ${stateText('m.room.history_visibility', 'history_visibility')} AS history_visibility,
      ${stateText('m.room.create', 'type')} AS room_type,
      (SELECT count(*) FROM room_memberships m WHERE m.room_id = r.room_id AND m.membership = 'join')::int AS joined_members,
      (SELECT count(*) FROM room_memberships m WHERE m.room_id = r.room_id AND m.membership = 'join' AND m.user_id LIKE ${localSuffix})::int AS joined_local_members,
      (SELECT count(*) FROM current_state cs WHERE cs.room_id = r.room_id)::int AS state_events,
      EXISTS (SELECT 1 FROM channel_policies p WHERE p.room_id = r.room_id) AS is_channel
    FROM rooms r`;
  const term = query.search ? `%${escapeLike(query.search.toLowerCase())}%` : undefined;
  const where = sql.join(
    [
      sql`true`,
      ...(query.onlyChannels ? [sql`is_channel`] : []),
      ...(query.roomId !== undefined ? [sql`room_id = ${query.roomId}`] : []),
      ...(term ? [sql`(lower(coalesce(name, '')) LIKE ${term} OR lower(coalesce(canonical_alias, '')) LIKE ${term} OR lower(coalesce(topic, '')) LIKE ${term} OR lower(room_id) LIKE ${term})`] : []),
    ],
    sql` AND `,
  );
  const descending = DESCENDING_BY_DEFAULT.has(query.orderBy) !== (query.dir === 'b');
  const column = query.orderBy === 'created' ? sql.ref('created_ts') : sql.ref(query.orderBy);
  // Rooms without the field sort last either way; the room ID breaks ties so pages never overlap.
  const order = sql`${column} ${sql.raw(descending ? 'DESC' : 'ASC')} NULLS LAST, room_id ASC`;
  const { rows } = await sql<RoomListingRow & { total: number; created_ts: number }>`
    SELECT *, count(*) OVER ()::int AS total FROM (${summaries}) s WHERE ${where}
    ORDER BY ${order} LIMIT ${query.limit} OFFSET ${query.offset}`.execute(db);
  let total = rows[0]?.total;
  if (total === undefined) {
    // An offset past the end returns no rows, and so no window count: count on its own.
    const counted = await sql<{ total: number }>`SELECT count(*)::int AS total FROM (${summaries}) s WHERE ${where}`.execute(db);
    total = counted.rows[0].total;
  }
  return { rows: rows.map(({ total: _total, created_ts: _created, ...row }) => row), total };
}

export interface RoomMemberRow {
  user_id: string;
  membership: string;
  displayname: string | null;
  /** When the membership took its current value (the member event's origin_server_ts). */
  since_ts: number;
}

/** A page of a room's members with the given memberships, in the order they got them, and how many there are. */
export async function roomMembersPage(db: Queryable, roomId: string, memberships: readonly string[], offset: number, limit: number): Promise<{ rows: RoomMemberRow[]; total: number }> {
  const base = db.selectFrom('room_memberships as m').where('m.room_id', '=', roomId).where('m.membership', 'in', [...memberships]);
  const rows = await base
    .innerJoin('events as e', 'e.event_id', 'm.event_id')
    .select([
      'm.user_id',
      'm.membership',
      'e.origin_server_ts as since_ts',
      sql<string | null>`CASE WHEN jsonb_typeof(e.json->'content'->'displayname') = 'string' THEN e.json->'content'->>'displayname' END`.as('displayname'),
    ])
    .orderBy('m.stream_ordering')
    .orderBy('m.user_id')
    .limit(limit)
    .offset(offset)
    .execute();
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  return { rows, total: Number(total) };
}

/** How many devices the room's joined local members have (Synapse's `joined_local_devices`). */
export async function joinedDevicesOfLocalMembers(db: Queryable, roomId: string, serverName: string): Promise<number> {
  const localSuffix = localUsersPattern(serverName);
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM devices d JOIN room_memberships m ON m.user_id = d.user_id
    WHERE m.room_id = ${roomId} AND m.membership = 'join' AND m.user_id LIKE ${localSuffix}`.execute(db);
  return rows[0].n;
}
