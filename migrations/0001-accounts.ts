import { sql, type Kysely } from 'kysely';

/** Accounts, devices, hashed access tokens, registration tokens and UIA sessions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('user_id', 'text', (col) => col.primaryKey())
    .addColumn('password_hash', 'text')
    .addColumn('is_admin', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('deactivated', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('appservice_id', 'text')
    .addColumn('displayname', 'text')
    .addColumn('avatar_url', 'text')
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('user_id', 'text', (col) => col.notNull().references('users.user_id').onDelete('cascade'))
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('display_name', 'text')
    .addColumn('last_seen_ts', 'bigint')
    .addColumn('last_seen_ip', 'text')
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('devices_pkey', ['user_id', 'device_id'])
    .execute();

  await db.schema
    .createTable('access_tokens')
    .addColumn('token_hash', 'bytea', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addForeignKeyConstraint('access_tokens_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('access_tokens_device_idx').on('access_tokens').columns(['user_id', 'device_id']).execute();

  await db.schema
    .createTable('registration_tokens')
    .addColumn('token', 'text', (col) => col.primaryKey())
    .addColumn('uses_allowed', 'integer')
    .addColumn('pending', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('completed', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('expiry_time', 'bigint')
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('registration_nonces')
    .addColumn('nonce', 'text', (col) => col.primaryKey())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('uia_sessions')
    .addColumn('session_id', 'text', (col) => col.primaryKey())
    .addColumn('request_key', 'text', (col) => col.notNull())
    .addColumn('user_id', 'text')
    .addColumn('completed', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('results', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();
}
