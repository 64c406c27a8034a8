import { sql } from 'kysely';
import type { Queryable } from '../database.ts';

/** Of `roomIds`, those with an `m.room.encryption` event in their current state (encryption is never turned off). */
export async function encryptedRoomsAmong(db: Queryable, roomIds: readonly string[]): Promise<Set<string>> {
  if (roomIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('current_state')
    .select('room_id')
    .where('room_id', 'in', [...roomIds])
    .where('type', '=', 'm.room.encryption')
    .where('state_key', '=', '')
    .execute();
  return new Set(rows.map((row) => row.room_id));
}

/** Of `roomIds`, those whose `m.room.encryption` event came in (after, upTo]. */
export async function roomsEncryptedBetween(db: Queryable, roomIds: readonly string[], after: number, upTo: number): Promise<string[]> {
  if (roomIds.length === 0 || upTo <= after) return [];
  const rows = await db
    .selectFrom('events')
    .select('room_id')
    .distinct()
    .where('room_id', 'in', [...roomIds])
    .where('type', '=', 'm.room.encryption')
    .where('state_key', '=', '')
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .execute();
  return rows.map((row) => row.room_id);
}

export interface MemberChange {
  room_id: string;
  user_id: string;
  membership: string;
}

/** Membership events in `roomIds` in (after, upTo], oldest first. */
export async function memberChangesBetween(db: Queryable, roomIds: readonly string[], after: number, upTo: number): Promise<MemberChange[]> {
  if (roomIds.length === 0 || upTo <= after) return [];
  const rows = await db
    .selectFrom('events')
    .select(['room_id', 'state_key', sql<string>`json->'content'->>'membership'`.as('membership')])
    .where('room_id', 'in', [...roomIds])
    .where('type', '=', 'm.room.member')
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .orderBy('stream_ordering')
    .execute();
  return rows.map((row) => ({ room_id: row.room_id, user_id: row.state_key ?? '', membership: row.membership }));
}

/** Users currently joined to any of `roomIds`, per room. */
export async function joinedMembersOfRooms(db: Queryable, roomIds: readonly string[]): Promise<Map<string, string[]>> {
  const byRoom = new Map<string, string[]>();
  if (roomIds.length === 0) return byRoom;
  const rows = await db
    .selectFrom('room_memberships')
    .select(['room_id', 'user_id'])
    .where('room_id', 'in', [...roomIds])
    .where('membership', '=', 'join')
    .execute();
  for (const row of rows) byRoom.set(row.room_id, [...(byRoom.get(row.room_id) ?? []), row.user_id]);
  return byRoom;
}
