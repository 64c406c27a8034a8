import { sql, type Kysely } from 'kysely';

/**
 * Channel policy, stored with the room (one row per channel; a room without a
 * row is an ordinary room with the defaults), and the audit log of every
 * change made through the channel admin API.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('channel_policies')
    .addColumn('room_id', 'text', (col) => col.primaryKey().references('rooms.room_id').onDelete('cascade'))
    .addColumn('visibility', 'text', (col) => col.notNull().check(sql`visibility IN ('private', 'public')`))
    .addColumn('encryption', 'text', (col) => col.notNull().check(sql`encryption IN ('required', 'off')`))
    .addColumn('joining', 'text', (col) => col.notNull().check(sql`joining IN ('invite', 'knock', 'open')`))
    .addColumn('link_previews', 'boolean', (col) => col.notNull().defaultTo(false))
    // Null: keep forever.
    .addColumn('retention_max_age_ms', 'bigint')
    // Null: any registered bot (subject to encryption); otherwise only these appservice ids.
    .addColumn('allowed_bots', 'jsonb')
    .addColumn('updated_ts', 'bigint', (col) => col.notNull())
    .execute();
  // The retention job visits only rooms with a maximum age.
  await db.schema.createIndex('channel_policies_retention').on('channel_policies').column('room_id').where(sql.ref('retention_max_age_ms'), 'is not', null).execute();

  await db.schema
    .createTable('channel_audit')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('room_id', 'text', (col) => col.notNull())
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('channel_audit_room').on('channel_audit').columns(['room_id', 'id']).execute();
}
