import { ErrCode, MatrixError, badJson, invalidParam } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import {
  findDeviceKeys,
  findOneTimeKeys,
  insertDeviceKeys,
  insertOneTimeKeys,
  lockDevice,
  upsertFallbackKeys,
} from '../storage/queries/device-keys.ts';
import { findCrossSigningPublicKeys } from '../storage/queries/cross-signing.ts';
import { oneTimeKeyCounts } from './key-counts.ts';
import { recordDeviceListChange } from './device-list-stream.ts';
import { hasValidSignature, invalidSignature, isBase64Key32, ownSignaturesOnly, sameSignedContent, splitKeyName, type DeviceKeys, type KeyObject } from './key-json.ts';

/** Clients upload tens of one-time keys at a time; bound one request. */
export const MAX_ONE_TIME_KEYS_PER_UPLOAD = 1000;
/** At most one fallback key per algorithm; a handful of algorithms at most. */
export const MAX_FALLBACK_KEYS_PER_UPLOAD = 16;

export interface KeyUpload {
  device_keys?: DeviceKeys;
  one_time_keys?: Record<string, KeyObject>;
  fallback_keys?: Record<string, KeyObject>;
}

interface NamedKey {
  algorithm: string;
  keyId: string;
  key: KeyObject;
}

/**
 * POST /keys/upload. Device keys must be the caller's own, list algorithms and
 * be self-signed with their ed25519 key; once stored they cannot be replaced
 * by different ones. Signed one-time and fallback keys must carry a valid
 * signature by the device's ed25519 key; a one-time key ID already stored
 * with different content is refused. All in one transaction.
 */
export async function uploadKeys(db: Queryable, userId: string, deviceId: string, upload: KeyUpload, now = Date.now()): Promise<Record<string, number>> {
  const oneTimeKeys = namedKeys(upload.one_time_keys ?? {}, 'one_time_keys', MAX_ONE_TIME_KEYS_PER_UPLOAD);
  const fallbackKeys = namedKeys(upload.fallback_keys ?? {}, 'fallback_keys', MAX_FALLBACK_KEYS_PER_UPLOAD);
  if (new Set(fallbackKeys.map((key) => key.algorithm)).size !== fallbackKeys.length) {
    throw invalidParam('fallback_keys may hold at most one key per algorithm');
  }

  await inTransaction(db, async (tx) => {
    if (!(await lockDevice(tx, userId, deviceId))) throw new MatrixError(ErrCode.UNKNOWN_TOKEN, 'Your device no longer exists', { status: 401 });
    const stored = await findDeviceKeys(tx, userId, deviceId);
    let deviceKeys = stored as DeviceKeys | undefined;
    let deviceKeysChanged = false;
    if (upload.device_keys) {
      await checkDeviceKeys(tx, userId, deviceId, upload.device_keys);
      if (stored && !sameSignedContent(stored, upload.device_keys)) {
        throw invalidParam(`Device ${deviceId} already has different identity keys; they cannot be replaced. Log in as a new device instead.`);
      }
      if (!stored) {
        deviceKeys = ownSignaturesOnly(upload.device_keys, userId);
        await insertDeviceKeys(tx, userId, deviceId, deviceKeys, now);
        deviceKeysChanged = true;
      }
    }

    const ed25519 = deviceKeys?.keys[`ed25519:${deviceId}`];
    for (const key of [...oneTimeKeys, ...fallbackKeys]) checkSignedKey(key, userId, deviceId, ed25519);

    const existing = await findOneTimeKeys(tx, userId, deviceId, oneTimeKeys);
    const fresh = oneTimeKeys.filter((key) => {
      const name = `${key.algorithm}:${key.keyId}`;
      if (!existing.has(name)) return true;
      if (!sameSignedContent(existing.get(name), key.key)) throw invalidParam(`One-time key ${name} already exists with different content`);
      return false;
    });
    await insertOneTimeKeys(tx, userId, deviceId, fresh, now);
    await upsertFallbackKeys(tx, userId, deviceId, fallbackKeys, now);
    if (deviceKeysChanged) await recordDeviceListChange(tx, [userId], now);
  });
  return oneTimeKeyCounts(db, userId, deviceId);
}

function namedKeys(keys: Record<string, KeyObject>, field: string, max: number): NamedKey[] {
  const entries = Object.entries(keys);
  if (entries.length > max) throw new MatrixError(ErrCode.TOO_LARGE, `${field} may hold at most ${max} keys per request`, { status: 413 });
  return entries.map(([name, key]) => {
    const split = splitKeyName(name);
    if (!split) throw badJson(`${field}: key name "${name}" is not of the form <algorithm>:<key_id>`);
    return { ...split, key };
  });
}

async function checkDeviceKeys(db: Queryable, userId: string, deviceId: string, keys: DeviceKeys): Promise<void> {
  if (keys.user_id !== userId) throw invalidParam(`device_keys.user_id must be your own user ID ${userId}`);
  if (keys.device_id !== deviceId) throw invalidParam(`device_keys.device_id must be the device you are logged in as (${deviceId})`);
  const ed25519 = keys.keys[`ed25519:${deviceId}`];
  if (!ed25519 || !isBase64Key32(ed25519)) throw invalidParam(`device_keys.keys must hold an ed25519:${deviceId} key (unpadded base64, 32 bytes)`);
  for (const name of Object.keys(keys.keys)) {
    const split = splitKeyName(name);
    if (!split || split.keyId !== deviceId) throw invalidParam(`device_keys.keys: "${name}" must be named <algorithm>:${deviceId}`);
  }
  if (!hasValidSignature(keys, userId, `ed25519:${deviceId}`, ed25519)) {
    throw invalidSignature(`device_keys must be signed by the device's own ed25519 key (signatures["${userId}"]["ed25519:${deviceId}"])`);
  }
  const crossSigningKeys = await findCrossSigningPublicKeys(db, userId);
  if (crossSigningKeys.includes(deviceId)) throw new MatrixError(ErrCode.FORBIDDEN, 'This device ID is one of your cross-signing public keys');
}

/** Signed key objects need a valid signature by the device; bare strings are unsigned by definition. */
function checkSignedKey(key: NamedKey, userId: string, deviceId: string, ed25519: string | undefined): void {
  const name = `${key.algorithm}:${key.keyId}`;
  if (typeof key.key === 'string') {
    if (key.algorithm.startsWith('signed_')) throw badJson(`${name}: a ${key.algorithm} key must be an object with key and signatures`);
    return;
  }
  if (!ed25519) throw invalidSignature(`${name}: upload this device's device_keys first so its signature can be checked`);
  if (!hasValidSignature(key.key, userId, `ed25519:${deviceId}`, ed25519)) {
    throw invalidSignature(`${name} is not signed by this device's ed25519 key`);
  }
}
