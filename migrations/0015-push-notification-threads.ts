import { sql, type Kysely } from 'kysely';

/**
 * The thread each notification belongs to ('main', or the thread root's event
 * ID for an `m.thread` reply), so that the badge count and /notifications'
 * `read` honour threaded receipts as /sync's unread counts do. Existing rows
 * are filled in from their events.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('push_notifications')
    .addColumn('thread_id', 'text', (col) => col.notNull().defaultTo('main'))
    .execute();
  await sql`UPDATE push_notifications n SET thread_id = e.json->'content'->'m.relates_to'->>'event_id'
      FROM events e
      WHERE e.event_id = n.event_id
        AND e.json->'content'->'m.relates_to'->>'rel_type' = 'm.thread'
        AND jsonb_typeof(e.json->'content'->'m.relates_to'->'event_id') = 'string'`.execute(db);
}
