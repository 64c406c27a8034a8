import { tooLarge } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { listDeviceKeys } from '../storage/queries/device-keys.ts';
import { findCrossSigningKeys, visibleSignatures } from '../storage/queries/cross-signing.ts';
import type { KeySignatureRow } from '../storage/tables/e2ee.ts';
import { splitLocalAndRemote } from './federation-failures.ts';

/** Bounds on one /keys/query: users, and devices named per user. */
export const MAX_QUERY_USERS = 1000;
export const MAX_QUERY_DEVICES_PER_USER = 1000;
/** All devices named in one query (each is a bind parameter; Postgres allows 65535). */
export const MAX_QUERY_DEVICES = 10_000;

type Json = Record<string, unknown>;

export interface KeyQueryResult {
  device_keys: Record<string, Record<string, Json>>;
  master_keys: Record<string, Json>;
  self_signing_keys: Record<string, Json>;
  user_signing_keys: Record<string, Json>;
  failures: Record<string, object>;
}

/**
 * POST /keys/query. Device keys with `unsigned.device_display_name`, master
 * and self-signing keys of every queried user, the user-signing key only of
 * the viewer. Signatures uploaded later are merged in when the viewer may see
 * them. Users of other servers are reported in `failures`.
 */
export async function queryKeys(db: Queryable, viewer: string, serverName: string, query: Record<string, string[]>): Promise<KeyQueryResult> {
  const entries = Object.entries(query);
  if (entries.length > MAX_QUERY_USERS) throw tooLarge(`device_keys may name at most ${MAX_QUERY_USERS} users`);
  if (entries.some(([, devices]) => devices.length > MAX_QUERY_DEVICES_PER_USER)) {
    throw tooLarge(`device_keys may name at most ${MAX_QUERY_DEVICES_PER_USER} devices per user`);
  }
  if (entries.reduce((sum, [, devices]) => sum + devices.length, 0) > MAX_QUERY_DEVICES) {
    throw tooLarge(`device_keys may name at most ${MAX_QUERY_DEVICES} devices in all`);
  }
  const { local, failures } = splitLocalAndRemote(query, serverName);
  const userIds = local.map(([userId]) => userId);
  const rows = await listDeviceKeys(db, local.map(([userId, devices]) => ({ userId, deviceIds: devices.length ? devices : null })));
  const crossSigning = await findCrossSigningKeys(db, userIds);
  const signatures = indexSignatures(await visibleSignatures(db, userIds, viewer));

  const result: KeyQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures };
  for (const userId of userIds) result.device_keys[userId] = {};
  for (const row of rows) {
    const device = withSignatures(row.key_json, signatures.get(`${row.user_id}\n${row.device_id}`));
    if (row.display_name !== null) device.unsigned = { device_display_name: row.display_name };
    result.device_keys[row.user_id][row.device_id] = device;
  }
  for (const key of crossSigning) {
    const json = withSignatures(key.key_json, signatures.get(`${key.user_id}\n${key.public_key}`));
    if (key.key_type === 'master') result.master_keys[key.user_id] = json;
    else if (key.key_type === 'self_signing') result.self_signing_keys[key.user_id] = json;
    else if (key.user_id === viewer) result.user_signing_keys[key.user_id] = json;
  }
  return result;
}

function indexSignatures(rows: KeySignatureRow[]): Map<string, KeySignatureRow[]> {
  const index = new Map<string, KeySignatureRow[]>();
  for (const row of rows) {
    const key = `${row.target_user_id}\n${row.target_key_id}`;
    index.set(key, [...(index.get(key) ?? []), row]);
  }
  return index;
}

function withSignatures(stored: Json, extra: KeySignatureRow[] | undefined): Json {
  const signatures: Record<string, Record<string, string>> = {};
  for (const [signer, keys] of Object.entries((stored.signatures ?? {}) as Record<string, Record<string, string>>)) signatures[signer] = { ...keys };
  for (const row of extra ?? []) (signatures[row.signer_user_id] ??= {})[row.signer_key_id] = row.signature;
  return { ...stored, signatures };
}
