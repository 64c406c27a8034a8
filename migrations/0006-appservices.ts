import { sql, type Kysely } from 'kysely';

/**
 * Appservice transaction delivery. Postgres holds everything delivery needs,
 * so losing Redis (or a worker) loses nothing: per appservice, how far the
 * room-event stream has been put into transactions and how far API processes
 * have announced it visible; and the transaction built but not yet
 * acknowledged, kept so that a retry resends the same txnId with the same events.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('appservice_state')
    .addColumn('appservice_id', 'text', (col) => col.primaryKey())
    // Events up to here are in a transaction (delivered, or the pending one).
    .addColumn('stream_position', 'bigint', (col) => col.notNull())
    // Room-event positions announced as visible to readers by the writing processes; delivery reads up to here.
    .addColumn('visible_position', 'bigint', (col) => col.notNull())
    .addColumn('next_txn_id', 'bigint', (col) => col.notNull().defaultTo(1))
    // To-device messages for the appservice's users (MSC2409) up to here are in a transaction.
    .addColumn('to_device_position', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute();

  // Registrations added through the admin API (the files' are read at start-up and on SIGHUP).
  await db.schema
    .createTable('appservice_registrations')
    .addColumn('appservice_id', 'text', (col) => col.primaryKey())
    .addColumn('registration', 'jsonb', (col) => col.notNull())
    .addColumn('updated_ts', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('appservice_transactions')
    .addColumn('appservice_id', 'text', (col) => col.notNull().references('appservice_state.appservice_id').onDelete('cascade'))
    .addColumn('txn_id', 'bigint', (col) => col.notNull())
    .addColumn('events', 'jsonb', (col) => col.notNull())
    .addColumn('ephemeral', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('to_device', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    // MSC3202 fields (one-time key counts, unused fallback key types) as of when the transaction was built.
    .addColumn('extensions', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    // The highest room-event position this transaction covers.
    .addColumn('last_position', 'bigint', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('appservice_transactions_pkey', ['appservice_id', 'txn_id'])
    .execute();
}
