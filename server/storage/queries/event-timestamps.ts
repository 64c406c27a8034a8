import type { Queryable } from '../database.ts';
import type { EventRow } from '../tables/rooms.ts';

/**
 * A room's events from a timestamp onwards (`forwards`: origin_server_ts >= ts,
 * oldest first) or back from it (`backwards`: <= ts, newest first), after a
 * cursor from the previous batch. Uses events_room_ts_idx.
 */
export async function eventsByTimestamp(
  db: Queryable,
  query: { roomId: string; ts: number; direction: 'forwards' | 'backwards'; upTo: number; limit: number; cursor?: { ts: number; position: number } },
): Promise<EventRow[]> {
  const forwards = query.direction === 'forwards';
  let select = db
    .selectFrom('events')
    .selectAll()
    .where('room_id', '=', query.roomId)
    .where('origin_server_ts', forwards ? '>=' : '<=', query.ts)
    .where('stream_ordering', '<=', query.upTo);
  const cursor = query.cursor;
  if (cursor) {
    select = select.where((eb) =>
      eb.or([
        eb('origin_server_ts', forwards ? '>' : '<', cursor.ts),
        eb.and([eb('origin_server_ts', '=', cursor.ts), eb('stream_ordering', forwards ? '>' : '<', cursor.position)]),
      ]),
    );
  }
  const order = forwards ? 'asc' : 'desc';
  return select.orderBy('origin_server_ts', order).orderBy('stream_ordering', order).limit(query.limit).execute();
}
