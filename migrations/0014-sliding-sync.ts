import type { Kysely } from 'kysely';

/**
 * Sliding sync (MSC4186) connections: what each (user, device, conn_id) sync
 * loop has already been sent, so an incremental response carries only
 * changes. Two states are kept: the one the latest `pos` stands for and the
 * one the request before it started from, because a client that never got
 * the latest response retries with the older `pos`. A device's connections go
 * with the device.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sliding_sync_connections')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('conn_id', 'text', (col) => col.notNull())
    .addColumn('base_pos', 'bigint', (col) => col.notNull())
    .addColumn('base_state', 'jsonb', (col) => col.notNull())
    .addColumn('latest_pos', 'bigint', (col) => col.notNull())
    .addColumn('latest_state', 'jsonb', (col) => col.notNull())
    .addColumn('updated_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('sliding_sync_connections_pkey', ['user_id', 'device_id', 'conn_id'])
    .addForeignKeyConstraint('sliding_sync_connections_device', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) => fk.onDelete('cascade'))
    .execute();
}
