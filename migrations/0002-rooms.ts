import { sql, type Kysely } from 'kysely';

/**
 * Rooms, their events, state history and memberships, and the room-event
 * stream. Positions (`stream_ordering`) come from one sequence, allocated in
 * the writing transaction; see server/sync/stream-positions.ts for why readers
 * never trust allocation order alone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE SEQUENCE room_event_stream_seq`.execute(db);

  await db.schema
    .createTable('rooms')
    .addColumn('room_id', 'text', (col) => col.primaryKey())
    .addColumn('room_version', 'text', (col) => col.notNull())
    .addColumn('creator', 'text', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addColumn('is_public', 'boolean', (col) => col.notNull().defaultTo(false))
    // The room's DAG is linear on one server: each event's prev_events is the latest one.
    .addColumn('latest_event_id', 'text')
    .addColumn('latest_depth', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('event_id', 'text', (col) => col.primaryKey())
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('stream_ordering', 'bigint', (col) => col.notNull().unique())
    .addColumn('depth', 'bigint', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('state_key', 'text')
    .addColumn('sender', 'text', (col) => col.notNull())
    .addColumn('origin_server_ts', 'bigint', (col) => col.notNull())
    .addColumn('json', 'jsonb', (col) => col.notNull())
    .addColumn('redacted_because', 'text')
    // Which device sent it under which transaction ID, so that device's sync can echo `transaction_id`.
    .addColumn('txn_device_id', 'text')
    .addColumn('txn_id', 'text')
    .execute();
  // /messages and sync timelines: a room's events by position.
  await db.schema.createIndex('events_room_stream_idx').on('events').columns(['room_id', 'stream_ordering']).execute();

  await db.schema
    .createTable('event_txns')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    // The endpoint and room the transaction ID was used on: the spec scopes txnIds per endpoint.
    .addColumn('scope', 'text', (col) => col.notNull())
    .addColumn('txn_id', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull().references('events.event_id').onDelete('cascade'))
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('event_txns_pkey', ['user_id', 'device_id', 'scope', 'txn_id'])
    .execute();

  await db.schema
    .createTable('state_events')
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('state_key', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull().references('events.event_id').onDelete('cascade'))
    .addColumn('stream_ordering', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('state_events_pkey', ['room_id', 'type', 'state_key', 'stream_ordering'])
    .execute();
  // "What state changed in a room between two positions" (incremental sync).
  await db.schema.createIndex('state_events_room_stream_idx').on('state_events').columns(['room_id', 'stream_ordering']).execute();

  await db.schema
    .createTable('current_state')
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('state_key', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull().references('events.event_id'))
    .addPrimaryKeyConstraint('current_state_pkey', ['room_id', 'type', 'state_key'])
    .execute();

  await db.schema
    .createTable('room_memberships')
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('membership', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull().references('events.event_id'))
    .addColumn('stream_ordering', 'bigint', (col) => col.notNull())
    .addColumn('forgotten', 'boolean', (col) => col.notNull().defaultTo(false))
    .addPrimaryKeyConstraint('room_memberships_pkey', ['room_id', 'user_id'])
    .execute();
  // A user's rooms by membership, and their membership changes since a sync position.
  await db.schema.createIndex('room_memberships_user_idx').on('room_memberships').columns(['user_id', 'membership']).execute();
  await db.schema.createIndex('room_memberships_user_stream_idx').on('room_memberships').columns(['user_id', 'stream_ordering']).execute();
  await db.schema.createIndex('room_memberships_room_idx').on('room_memberships').columns(['room_id', 'membership']).execute();

  await db.schema
    .createTable('room_aliases')
    .addColumn('room_alias', 'text', (col) => col.primaryKey())
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.room_id').onDelete('cascade'))
    .addColumn('creator', 'text', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('user_filters')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('filter_id', 'text', (col) => col.notNull())
    .addColumn('filter', 'jsonb', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('user_filters_pkey', ['user_id', 'filter_id'])
    .execute();
}
