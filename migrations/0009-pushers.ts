import { sql, type Kysely } from 'kysely';

/**
 * Pushers, the notifications push rules produced, and how far push
 * evaluation has read the room-event stream. A pusher belongs to the access
 * token that set it: logging out or deleting the device deletes it (cascade).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('pushers')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('access_token_hash', 'bytea', (col) => col.notNull().references('access_tokens.token_hash').onDelete('cascade'))
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('app_id', 'text', (col) => col.notNull())
    .addColumn('pushkey', 'text', (col) => col.notNull())
    .addColumn('pushkey_ts', 'bigint', (col) => col.notNull())
    .addColumn('app_display_name', 'text', (col) => col.notNull())
    .addColumn('device_display_name', 'text', (col) => col.notNull())
    .addColumn('profile_tag', 'text')
    .addColumn('lang', 'text', (col) => col.notNull())
    .addColumn('data', 'jsonb', (col) => col.notNull())
    // The newest notification sent (or given up on) through this pusher.
    .addColumn('last_notification_id', 'bigint', (col) => col.notNull().defaultTo(0))
    .addUniqueConstraint('pushers_app_pushkey_user_key', ['app_id', 'pushkey', 'user_id'])
    .execute();
  await db.schema.createIndex('pushers_user_idx').on('pushers').column('user_id').execute();

  await db.schema
    .createTable('push_notifications')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('event_id', 'text', (col) => col.notNull().references('events.event_id').onDelete('cascade'))
    .addColumn('stream_ordering', 'bigint', (col) => col.notNull())
    .addColumn('actions', 'jsonb', (col) => col.notNull())
    .addColumn('highlight', 'boolean', (col) => col.notNull())
    .addColumn('ts', 'bigint', (col) => col.notNull())
    .addUniqueConstraint('push_notifications_user_event_key', ['user_id', 'event_id'])
    .execute();
  await db.schema.createIndex('push_notifications_user_idx').on('push_notifications').columns(['user_id', 'id']).execute();

  // One row: the newest visible room-event position announced, and how far evaluation has got.
  await db.schema
    .createTable('push_progress')
    .addColumn('id', 'boolean', (col) => col.primaryKey().defaultTo(true))
    .addColumn('announced', 'bigint', (col) => col.notNull())
    .addColumn('evaluated', 'bigint', (col) => col.notNull())
    .execute();
  await sql`ALTER TABLE push_progress ADD CONSTRAINT push_progress_one_row CHECK (id)`.execute(db);
  // Start at the current end of the stream: events from before pushers existed are not pushed.
  await sql`INSERT INTO push_progress (id, announced, evaluated)
            SELECT true, coalesce(max(stream_ordering), 0), coalesce(max(stream_ordering), 0) FROM events`.execute(db);
}
