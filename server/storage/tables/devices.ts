import type { Insertable, Selectable } from 'kysely';

export interface DevicesTable {
  user_id: string;
  device_id: string;
  display_name: string | null;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  created_ts: number;
}

/** Only hashes of access tokens are stored, so a database leak yields no usable token. */
export interface AccessTokensTable {
  token_hash: Buffer;
  user_id: string;
  device_id: string;
  created_ts: number;
}

export type DeviceRow = Selectable<DevicesTable>;
export type NewDeviceRow = Insertable<DevicesTable>;
export type AccessTokenRow = Selectable<AccessTokensTable>;
