import { sql, type Kysely } from 'kysely';

/**
 * End-to-end encryption: device keys, one-time and fallback keys, cross-signing
 * keys and signatures, server-side key backup, the device-list change stream
 * and the to-device inbox. Rows that belong to a device go with it (FK cascade
 * on `devices`); signatures, which may target a cross-signing key rather than
 * a device, are removed by `removeDevices` explicitly.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const deviceFk = (table: string, columns: [string, string]) =>
    sql`ALTER TABLE ${sql.table(table)} ADD CONSTRAINT ${sql.ref(`${table}_device_fkey`)}
        FOREIGN KEY (${sql.ref(columns[0])}, ${sql.ref(columns[1])}) REFERENCES devices (user_id, device_id) ON DELETE CASCADE`;

  await db.schema
    .createTable('device_keys')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('key_json', 'jsonb', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('device_keys_pkey', ['user_id', 'device_id'])
    .execute();
  await deviceFk('device_keys', ['user_id', 'device_id']).execute(db);

  // `upload_seq` orders keys by upload (the spec hands them out in upload order).
  await db.schema
    .createTable('one_time_keys')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('algorithm', 'text', (col) => col.notNull())
    .addColumn('key_id', 'text', (col) => col.notNull())
    .addColumn('key_json', 'jsonb', (col) => col.notNull())
    .addColumn('upload_seq', 'bigserial', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('one_time_keys_pkey', ['user_id', 'device_id', 'algorithm', 'key_id'])
    .execute();
  await deviceFk('one_time_keys', ['user_id', 'device_id']).execute(db);
  await db.schema.createIndex('one_time_keys_claim_idx').on('one_time_keys').columns(['user_id', 'device_id', 'algorithm', 'upload_seq']).execute();

  await db.schema
    .createTable('fallback_keys')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('algorithm', 'text', (col) => col.notNull())
    .addColumn('key_id', 'text', (col) => col.notNull())
    .addColumn('key_json', 'jsonb', (col) => col.notNull())
    .addColumn('used', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('fallback_keys_pkey', ['user_id', 'device_id', 'algorithm'])
    .execute();
  await deviceFk('fallback_keys', ['user_id', 'device_id']).execute(db);

  await db.schema
    .createTable('cross_signing_keys')
    .addColumn('user_id', 'text', (col) => col.notNull().references('users.user_id').onDelete('cascade'))
    .addColumn('key_type', 'text', (col) => col.notNull().check(sql`key_type IN ('master', 'self_signing', 'user_signing')`))
    .addColumn('public_key', 'text', (col) => col.notNull())
    .addColumn('key_json', 'jsonb', (col) => col.notNull())
    .addColumn('updated_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('cross_signing_keys_pkey', ['user_id', 'key_type'])
    .execute();

  // Signatures uploaded through /keys/signatures/upload. The target is a device
  // ID or a cross-signing public key of `target_user_id`.
  await db.schema
    .createTable('key_signatures')
    .addColumn('target_user_id', 'text', (col) => col.notNull())
    .addColumn('target_key_id', 'text', (col) => col.notNull())
    .addColumn('signer_user_id', 'text', (col) => col.notNull())
    .addColumn('signer_key_id', 'text', (col) => col.notNull())
    .addColumn('signature', 'text', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('key_signatures_pkey', ['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id'])
    .execute();
  await db.schema.createIndex('key_signatures_signer_idx').on('key_signatures').columns(['signer_user_id', 'signer_key_id']).execute();

  // Deleted versions stay as rows (`deleted`) so a version number is never reused.
  await db.schema
    .createTable('room_key_backup_versions')
    .addColumn('user_id', 'text', (col) => col.notNull().references('users.user_id').onDelete('cascade'))
    .addColumn('version', 'bigint', (col) => col.notNull())
    .addColumn('algorithm', 'text', (col) => col.notNull())
    .addColumn('auth_data', 'jsonb', (col) => col.notNull())
    .addColumn('etag', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('deleted', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('room_key_backup_versions_pkey', ['user_id', 'version'])
    .execute();

  await db.schema
    .createTable('room_key_backup_keys')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('version', 'bigint', (col) => col.notNull())
    .addColumn('room_id', 'text', (col) => col.notNull())
    .addColumn('session_id', 'text', (col) => col.notNull())
    .addColumn('first_message_index', 'bigint', (col) => col.notNull())
    .addColumn('forwarded_count', 'bigint', (col) => col.notNull())
    .addColumn('is_verified', 'boolean', (col) => col.notNull())
    .addColumn('session_data', 'jsonb', (col) => col.notNull())
    .addPrimaryKeyConstraint('room_key_backup_keys_pkey', ['user_id', 'version', 'room_id', 'session_id'])
    .addForeignKeyConstraint('room_key_backup_keys_version_fkey', ['user_id', 'version'], 'room_key_backup_versions', ['user_id', 'version'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();

  // One row per change of a user's device list (device keys, cross-signing keys, deleted devices).
  await db.schema
    .createTable('device_list_changes')
    .addColumn('position', 'bigserial', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('device_list_changes_user_idx').on('device_list_changes').columns(['user_id', 'position']).execute();

  await db.schema
    .createTable('to_device_messages')
    .addColumn('position', 'bigserial', (col) => col.primaryKey())
    .addColumn('recipient_user_id', 'text', (col) => col.notNull())
    .addColumn('recipient_device_id', 'text', (col) => col.notNull())
    .addColumn('sender_user_id', 'text', (col) => col.notNull())
    .addColumn('sender_device_id', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text', (col) => col.notNull())
    .addColumn('content', 'jsonb', (col) => col.notNull())
    .addColumn('created_ts', 'bigint', (col) => col.notNull())
    .addColumn('expires_ts', 'bigint', (col) => col.notNull())
    .execute();
  await deviceFk('to_device_messages', ['recipient_user_id', 'recipient_device_id']).execute(db);
  await db.schema
    .createIndex('to_device_messages_inbox_idx')
    .on('to_device_messages')
    .columns(['recipient_user_id', 'recipient_device_id', 'position'])
    .execute();
  await db.schema.createIndex('to_device_messages_expiry_idx').on('to_device_messages').column('expires_ts').execute();

  // Transaction IDs already used by a sending device, per endpoint (the event type is part of the path).
  await db.schema
    .createTable('to_device_transactions')
    .addColumn('sender_user_id', 'text', (col) => col.notNull())
    .addColumn('sender_device_id', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text', (col) => col.notNull())
    .addColumn('txn_id', 'text', (col) => col.notNull())
    .addColumn('expires_ts', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('to_device_transactions_pkey', ['sender_user_id', 'sender_device_id', 'event_type', 'txn_id'])
    .execute();
  await deviceFk('to_device_transactions', ['sender_user_id', 'sender_device_id']).execute(db);
  await db.schema.createIndex('to_device_transactions_expiry_idx').on('to_device_transactions').column('expires_ts').execute();
}
