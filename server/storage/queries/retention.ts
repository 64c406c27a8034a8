import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { EventRow } from '../tables/rooms.ts';
import type { PersistentEvent } from '../../rooms/event.ts';

/** Rooms whose current m.room.retention state sets a maximum age (MSC1763 `max_lifetime`, ms). */
export async function roomsWithMaxLifetime(db: Queryable): Promise<Array<{ room_id: string; max_lifetime: number }>> {
  const { rows } = await sql<{ room_id: string; max_lifetime: string }>`
    SELECT cs.room_id, e.json->'content'->>'max_lifetime' AS max_lifetime
    FROM current_state cs JOIN events e ON e.event_id = cs.event_id
    WHERE cs.type = 'm.room.retention' AND cs.state_key = '' AND jsonb_typeof(e.json->'content'->'max_lifetime') = 'number'`.execute(db);
  return rows.map((row) => ({ room_id: row.room_id, max_lifetime: Number(row.max_lifetime) })).filter((row) => Number.isSafeInteger(row.max_lifetime) && row.max_lifetime > 0);
}

/** Events sent before `cutoff`, after position `after`, oldest first, each flagged if it is current state. */
export async function expiredEventsAfter(tx: Tx, roomId: string, cutoff: number, after: number, limit: number): Promise<Array<EventRow & { is_current: boolean }>> {
  const rows = await tx
    .selectFrom('events as e')
    .leftJoin('current_state as cs', 'cs.event_id', 'e.event_id')
    .selectAll('e')
    .select(sql<boolean>`cs.event_id IS NOT NULL`.as('is_current'))
    .where('e.room_id', '=', roomId)
    .where('e.origin_server_ts', '<', cutoff)
    .where('e.stream_ordering', '>', after)
    .orderBy('e.stream_ordering')
    .limit(limit)
    .execute();
  return rows;
}

export async function deleteEvents(tx: Tx, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await tx.deleteFrom('events').where('event_id', 'in', [...eventIds]).execute();
}

/** Replaces an event's JSON with its redacted form: the stub the DAG and state history still need. */
export async function replaceEventJson(tx: Tx, eventId: string, json: PersistentEvent): Promise<void> {
  await tx.updateTable('events').set({ json: JSON.stringify(json) as unknown as PersistentEvent }).where('event_id', '=', eventId).execute();
}
