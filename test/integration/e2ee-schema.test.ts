import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertTableColumns } from '../support/table-columns.ts';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import type {
  CrossSigningKeysTable,
  DehydratedDevicesTable,
  DeviceKeysTable,
  DeviceListChangesTable,
  FallbackKeysTable,
  KeySignaturesTable,
  OneTimeKeysTable,
  RoomKeyBackupKeysTable,
  RoomKeyBackupVersionsTable,
  ToDeviceMessagesTable,
  ToDeviceTransactionsTable,
} from '../../server/storage/tables/e2ee.ts';

/** Column names per table; `satisfies` makes tsc fail when a table type and this list disagree. */
const COLUMNS = {
  device_keys: { user_id: 1, device_id: 1, key_json: 1, created_ts: 1 } satisfies Record<keyof DeviceKeysTable, 1>,
  one_time_keys: { user_id: 1, device_id: 1, algorithm: 1, key_id: 1, key_json: 1, upload_seq: 1, created_ts: 1 } satisfies Record<keyof OneTimeKeysTable, 1>,
  fallback_keys: { user_id: 1, device_id: 1, algorithm: 1, key_id: 1, key_json: 1, used: 1, created_ts: 1 } satisfies Record<keyof FallbackKeysTable, 1>,
  cross_signing_keys: { user_id: 1, key_type: 1, public_key: 1, key_json: 1, updated_ts: 1 } satisfies Record<keyof CrossSigningKeysTable, 1>,
  key_signatures: { target_user_id: 1, target_key_id: 1, signer_user_id: 1, signer_key_id: 1, signature: 1, created_ts: 1 } satisfies Record<keyof KeySignaturesTable, 1>,
  room_key_backup_versions: { user_id: 1, version: 1, algorithm: 1, auth_data: 1, etag: 1, deleted: 1, created_ts: 1 } satisfies Record<keyof RoomKeyBackupVersionsTable, 1>,
  room_key_backup_keys: {
    user_id: 1,
    version: 1,
    room_id: 1,
    session_id: 1,
    first_message_index: 1,
    forwarded_count: 1,
    is_verified: 1,
    session_data: 1,
  } satisfies Record<keyof RoomKeyBackupKeysTable, 1>,
  device_list_changes: { position: 1, user_id: 1, created_ts: 1 } satisfies Record<keyof DeviceListChangesTable, 1>,
  to_device_messages: {
    position: 1,
    recipient_user_id: 1,
    recipient_device_id: 1,
    sender_user_id: 1,
    sender_device_id: 1,
    event_type: 1,
    content: 1,
    created_ts: 1,
    expires_ts: 1,
  } satisfies Record<keyof ToDeviceMessagesTable, 1>,
  to_device_transactions: { sender_user_id: 1, sender_device_id: 1, event_type: 1, txn_id: 1, expires_ts: 1 } satisfies Record<keyof ToDeviceTransactionsTable, 1>,
  dehydrated_devices: { user_id: 1, device_id: 1, device_data: 1, created_ts: 1 } satisfies Record<keyof DehydratedDevicesTable, 1>,
};

/** Tables whose rows belong to one device and must go with it. */
const DEVICE_OWNED = ['device_keys', 'one_time_keys', 'fallback_keys', 'to_device_messages', 'to_device_transactions', 'dehydrated_devices'];

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

test('the migrated E2EE tables have exactly the columns their table types declare', async () => {
  await assertTableColumns(server.app.db, COLUMNS);
});

test('device-owned E2EE tables cascade from devices', async () => {
  const { rows } = await sql<{ table_name: string; delete_rule: string }>`
    SELECT tc.table_name, rc.delete_rule
    FROM information_schema.table_constraints tc
    JOIN information_schema.referential_constraints rc ON rc.constraint_name = tc.constraint_name
    JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name
    WHERE tc.constraint_type = 'FOREIGN KEY' AND ccu.table_name = 'devices'`.execute(server.app.db);
  for (const table of DEVICE_OWNED) {
    assert.ok(rows.some((row) => row.table_name === table && row.delete_rule === 'CASCADE'), `${table}: ${JSON.stringify(rows)}`);
  }
});
