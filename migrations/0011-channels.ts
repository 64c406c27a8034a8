import type { Kysely } from 'kysely';

/**
 * Channel policy, stored with the room. What clients must see (join rule,
 * encryption, previews, retention) lives in room state, the one source of
 * truth; the directory flag in rooms.is_public; this table holds the rest
 * (which bots may join), one row per channel. And the audit log of every
 * change made through the channel admin API.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('channel_policies')
    .addColumn('room_id', 'text', (col) => col.primaryKey().references('rooms.room_id').onDelete('cascade'))
    // Null: any registered bot (subject to encryption); otherwise only bots of these appservice ids.
    .addColumn('allowed_bots', 'jsonb')
    .addColumn('updated_ts', 'bigint', (col) => col.notNull())
    .execute();

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
