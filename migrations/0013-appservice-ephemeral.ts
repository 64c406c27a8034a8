import { sql, type Kysely } from 'kysely';

/**
 * Ephemeral data in appservice transactions (MSC2409 receipts and presence,
 * MSC3202 device lists): how far each appservice has been sent each stream.
 * Existing appservices start at each stream's head (nothing old is replayed,
 * as for a new appservice). Typing has no column: only current typing matters,
 * so it is never replayed after a restart (see server/appservices/ephemeral.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('appservice_state')
    .addColumn('receipt_position', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('presence_position', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('device_list_position', 'bigint', (col) => col.notNull().defaultTo(0))
    // Receipt and presence positions API processes announced visible: a worker delivers up to here
    // (its own view of those streams does not move; only the processes writing them see them move).
    .addColumn('receipt_visible_position', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('presence_visible_position', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute();
  await sql`
    UPDATE appservice_state SET
      receipt_position = (SELECT COALESCE(MAX(stream_id), 0) FROM receipts),
      presence_position = (SELECT COALESCE(MAX(stream_id), 0) FROM presence),
      device_list_position = (SELECT COALESCE(MAX(position), 0) FROM device_list_changes),
      receipt_visible_position = (SELECT COALESCE(MAX(stream_id), 0) FROM receipts),
      presence_visible_position = (SELECT COALESCE(MAX(stream_id), 0) FROM presence)
  `.execute(db);
  // Delivery reads receipts of every room in stream order (sync reads them per room).
  await db.schema.createIndex('receipts_stream_idx').on('receipts').column('stream_id').execute();
  // Typing delivery finds the rooms where the users an appservice registered are joined.
  await db.schema.createIndex('users_appservice_idx').on('users').column('appservice_id').where(sql.ref('appservice_id'), 'is not', null).execute();
}
