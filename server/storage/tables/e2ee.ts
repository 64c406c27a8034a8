import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** JSON objects as stored in jsonb columns: written as a JSON string, read as the parsed object. */
export type JsonObject = Record<string, unknown>;
type Jsonb = ColumnType<JsonObject, string, string>;

export interface DeviceKeysTable {
  user_id: string;
  device_id: string;
  key_json: Jsonb;
  created_ts: number;
}

export interface OneTimeKeysTable {
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  /** A string (unsigned curve25519) or a signed key object. */
  key_json: ColumnType<unknown, string, string>;
  upload_seq: Generated<number>;
  created_ts: number;
}

export interface FallbackKeysTable {
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  key_json: ColumnType<unknown, string, string>;
  used: Generated<boolean>;
  created_ts: number;
}

export type CrossSigningKeyType = 'master' | 'self_signing' | 'user_signing';

export interface CrossSigningKeysTable {
  user_id: string;
  key_type: CrossSigningKeyType;
  /** Unpadded base64 ed25519 public key; the key ID is `ed25519:<public_key>`. */
  public_key: string;
  key_json: Jsonb;
  updated_ts: number;
}

export interface KeySignaturesTable {
  target_user_id: string;
  /** A device ID or a cross-signing public key of the target user. */
  target_key_id: string;
  signer_user_id: string;
  /** `ed25519:<device ID or public key>`. */
  signer_key_id: string;
  signature: string;
  created_ts: number;
}

export interface RoomKeyBackupVersionsTable {
  user_id: string;
  version: number;
  algorithm: string;
  auth_data: Jsonb;
  etag: Generated<number>;
  deleted: Generated<boolean>;
  created_ts: number;
}

export interface RoomKeyBackupKeysTable {
  user_id: string;
  version: number;
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Jsonb;
}

export interface DeviceListChangesTable {
  position: Generated<number>;
  user_id: string;
  created_ts: number;
}

export interface ToDeviceMessagesTable {
  position: Generated<number>;
  recipient_user_id: string;
  recipient_device_id: string;
  sender_user_id: string;
  sender_device_id: string;
  event_type: string;
  content: Jsonb;
  created_ts: number;
  expires_ts: number;
}

export interface ToDeviceTransactionsTable {
  sender_user_id: string;
  sender_device_id: string;
  event_type: string;
  txn_id: string;
  expires_ts: number;
}

export type CrossSigningKeyRow = Selectable<CrossSigningKeysTable>;
export type KeySignatureRow = Selectable<KeySignaturesTable>;
export type NewKeySignatureRow = Insertable<KeySignaturesTable>;
export type RoomKeyBackupVersionRow = Selectable<RoomKeyBackupVersionsTable>;
export type RoomKeyBackupKeyRow = Selectable<RoomKeyBackupKeysTable>;
export type ToDeviceMessageRow = Selectable<ToDeviceMessagesTable>;
export type NewToDeviceMessageRow = Insertable<ToDeviceMessagesTable>;

/** A user's dehydrated device (MSC3814): its `devices` row plus the client's encrypted pickle. */
export interface DehydratedDevicesTable {
  user_id: string;
  device_id: string;
  device_data: Jsonb;
  created_ts: number;
}
