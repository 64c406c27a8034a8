import { sql, type Kysely } from 'kysely';

/**
 * Dehydrated devices (MSC3814): at most one per user, a real row in `devices`
 * (so keys, to-device inbox and device lists work as for any device) plus the
 * client's encrypted pickle. Deleting the device deletes this row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dehydrated_devices')
    .addColumn('user_id', 'text', (col) => col.primaryKey())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('device_data', 'jsonb', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();
  await sql`ALTER TABLE dehydrated_devices ADD CONSTRAINT dehydrated_devices_device_fkey
            FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE`.execute(db);
}
