import { sql, type Kysely } from 'kysely';

/**
 * Event relationships and timestamp lookups, read straight from the events
 * table: no relations table and no hook in the send path. The relation is the
 * event's own `content."m.relates_to"` (kept in the clear in encrypted events,
 * as the spec requires), so the partial expression indexes below cover only
 * events that relate to another; a redaction strips `m.relates_to` from the
 * stored JSON, which removes the relation with it, as the spec wants.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Children of a parent event, in stream order: /relations, bundled aggregations.
  await sql`CREATE INDEX events_relates_to_idx ON events (((json->'content'->'m.relates_to'->>'event_id')), stream_ordering)
    WHERE (json->'content'->'m.relates_to'->>'event_id') IS NOT NULL`.execute(db);
  // A room's thread replies in stream order: /threads finds thread roots by their latest reply.
  await sql`CREATE INDEX events_thread_replies_idx ON events (room_id, stream_ordering)
    WHERE (json->'content'->'m.relates_to'->>'rel_type') = 'm.thread'`.execute(db);
  // /timestamp_to_event: a room's events by their origin_server_ts.
  await db.schema.createIndex('events_room_ts_idx').on('events').columns(['room_id', 'origin_server_ts']).execute();
}
