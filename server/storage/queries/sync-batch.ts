import { sql } from 'kysely';
import type { Queryable } from '../database.ts';
import type { EventRow } from '../tables/rooms.ts';

/**
 * Set-based reads for an initial /sync, which needs the same few things of
 * every room the user is in: one query for all rooms instead of one per room.
 */

/** Each room's newest `limit` events at or below `upTo`, newest first (one index range scan per room, in one query). */
export async function newestEventsOfRooms(db: Queryable, roomIds: readonly string[], upTo: number, limit: number): Promise<Map<string, EventRow[]>> {
  const byRoom = new Map<string, EventRow[]>(roomIds.map((roomId) => [roomId, []]));
  if (roomIds.length === 0) return byRoom;
  const { rows } = await sql<EventRow>`
    SELECT e.* FROM unnest(${[...roomIds]}::text[]) AS wanted(room_id)
    CROSS JOIN LATERAL (
      SELECT * FROM events WHERE events.room_id = wanted.room_id AND events.stream_ordering <= ${upTo}
      ORDER BY events.stream_ordering DESC LIMIT ${limit}
    ) AS e
    ORDER BY e.room_id, e.stream_ordering DESC`.execute(db);
  for (const row of rows) byRoom.get(row.room_id)?.push(row);
  return byRoom;
}

/** Each room's full state at its own position (as stateEventsAt, for many rooms at once). */
export async function stateEventsOfRoomsAt(db: Queryable, positions: ReadonlyMap<string, number>): Promise<Map<string, EventRow[]>> {
  const byRoom = new Map<string, EventRow[]>([...positions.keys()].map((roomId) => [roomId, []]));
  if (positions.size === 0) return byRoom;
  const { rows } = await sql<EventRow>`
    SELECT e.* FROM (
      SELECT DISTINCT ON (s.room_id, s.type, s.state_key) s.event_id
      FROM unnest(${[...positions.keys()]}::text[], ${[...positions.values()]}::bigint[]) AS wanted(room_id, position)
      JOIN state_events AS s ON s.room_id = wanted.room_id AND s.stream_ordering <= wanted.position
      ORDER BY s.room_id, s.type, s.state_key, s.stream_ordering DESC
    ) AS latest
    JOIN events AS e ON e.event_id = latest.event_id`.execute(db);
  for (const row of rows) byRoom.get(row.room_id)?.push(row);
  return byRoom;
}
