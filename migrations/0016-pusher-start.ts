import { sql, type Kysely } from 'kysely';

/**
 * Where a pusher starts in the room-event stream: it pushes only events after
 * the position at which it was set. Evaluation runs behind the stream, so an
 * event sent before the pusher existed may be evaluated (and notified) after;
 * without this it would be pushed to a pusher that did not exist when it was
 * sent. Existing pushers start at the stream's head.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('pushers')
    .addColumn('from_stream_ordering', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute();
  await sql`UPDATE pushers SET from_stream_ordering = (SELECT coalesce(max(stream_ordering), 0) FROM events)`.execute(db);
}
