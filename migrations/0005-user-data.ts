import { sql, type Kysely } from 'kysely';

/**
 * Per-user and ephemeral room data that /sync streams: account data (global
 * and per room), read receipts, and presence. Each has its own position
 * sequence, allocated in the writing transaction like the room-event stream
 * (see server/sync/stream-positions.ts). Typing notifications are not stored:
 * they live for seconds and are held in memory.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE SEQUENCE account_data_stream_seq`.execute(db);
  await sql`CREATE SEQUENCE receipt_stream_seq`.execute(db);
  await sql`CREATE SEQUENCE presence_stream_seq`.execute(db);

  // `room_id` is '' for global account data, so one primary key covers both kinds.
  await db.schema
    .createTable('account_data')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('room_id', 'text', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('content', 'jsonb', (col) => col.notNull())
    .addColumn('stream_id', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('account_data_pkey', ['user_id', 'room_id', 'type'])
    .execute();
  // Incremental sync: a user's account data changed since a position.
  await db.schema.createIndex('account_data_user_stream_idx').on('account_data').columns(['user_id', 'stream_id']).execute();

  // One receipt per (room, type, user, thread); `thread_id` is '' for an unthreaded receipt.
  await db.schema
    .createTable('receipts')
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('receipt_type', 'text', (col) => col.notNull())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('thread_id', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull())
    // The event's position: a receipt never moves back to an older event.
    .addColumn('event_stream_ordering', 'bigint', (col) => col.notNull())
    .addColumn('ts', 'bigint', (col) => col.notNull())
    .addColumn('stream_id', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('receipts_pkey', ['room_id', 'receipt_type', 'user_id', 'thread_id'])
    .execute();
  // Incremental sync: receipts of the user's rooms since a position.
  await db.schema.createIndex('receipts_room_stream_idx').on('receipts').columns(['room_id', 'stream_id']).execute();

  await db.schema
    .createTable('presence')
    .addColumn('user_id', 'text', (col) => col.primaryKey())
    .addColumn('presence', 'text', (col) => col.notNull())
    .addColumn('status_msg', 'text')
    .addColumn('last_active_ts', 'bigint', (col) => col.notNull())
    .addColumn('stream_id', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('presence_stream_idx').on('presence').column('stream_id').execute();
}
