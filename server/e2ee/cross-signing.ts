import { ErrCode, MatrixError, forbidden, invalidParam } from '../errors.ts';
import type { Queryable, Tx } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { deleteCrossSigningKey, deleteSignaturesOfKey, findCrossSigningKeys, findDeviceIdAmong, lockCrossSigningKeys, upsertCrossSigningKey } from '../storage/queries/cross-signing.ts';
import type { CrossSigningKeyRow, CrossSigningKeyType } from '../storage/tables/e2ee.ts';
import { recordDeviceListChange } from './device-list-stream.ts';
import { crossSigningPublicKey, hasValidSignature, invalidSignature, ownSignaturesOnly, sameSignedContent, type CrossSigningKey } from './key-json.ts';

export interface CrossSigningUpload {
  master_key?: CrossSigningKey;
  self_signing_key?: CrossSigningKey;
  user_signing_key?: CrossSigningKey;
}

const FIELDS: [keyof CrossSigningUpload, CrossSigningKeyType][] = [
  ['master_key', 'master'],
  ['self_signing_key', 'self_signing'],
  ['user_signing_key', 'user_signing'],
];

/**
 * The spec's rule for POST /keys/device_signing/upload: UIA is needed unless
 * the user has no master key yet, or every key in the request equals the one
 * stored (a retried upload).
 */
export async function crossSigningUploadNeedsUia(db: Queryable, userId: string, upload: CrossSigningUpload): Promise<boolean> {
  return needsUia(await findCrossSigningKeys(db, [userId]), upload);
}

function needsUia(stored: CrossSigningKeyRow[], upload: CrossSigningUpload): boolean {
  if (!stored.some((row) => row.key_type === 'master')) return false;
  return FIELDS.some(([field, type]) => {
    const key = upload[field];
    if (!key) return false;
    const current = stored.find((row) => row.key_type === type);
    return !current || !sameSignedContent(current.key_json, key);
  });
}

/**
 * Stores cross-signing keys after checking them: each is the caller's, has
 * the right usage and one ed25519 public key; self-signing and user-signing
 * keys are signed by the master key (from the request, else the stored one);
 * no public key equals one of the user's device IDs. Replaced keys lose the
 * signatures made on and by them, and a new master key drops the stored keys
 * it did not sign. One transaction, holding the user's rows. `authorised`:
 * the caller passed UIA or is an appservice, so replacing keys is allowed.
 */
export async function uploadCrossSigningKeys(db: Queryable, userId: string, upload: CrossSigningUpload, authorised: boolean, now = Date.now()): Promise<void> {
  const publicKeys = new Map<CrossSigningKeyType, string>();
  for (const [field, type] of FIELDS) {
    const key = upload[field];
    if (key) publicKeys.set(type, checkKeyShape(key, userId, type, field));
  }
  if (publicKeys.size === 0) throw invalidParam('Upload at least one of master_key, self_signing_key and user_signing_key');

  await inTransaction(db, async (tx) => {
    const stored = await lockCrossSigningKeys(tx, userId);
    if (!authorised && needsUia(stored, upload)) throw forbidden('Your cross-signing keys changed meanwhile; authenticate and try again');
    const masterKey = publicKeys.get('master') ?? stored.find((row) => row.key_type === 'master')?.public_key;
    if (!masterKey) throw new MatrixError(ErrCode.MISSING_PARAM, 'No master key available: upload master_key first or together with the other keys');
    for (const [field, type] of FIELDS) {
      const key = upload[field];
      if (type === 'master' || !key) continue;
      if (!hasValidSignature(key, userId, `ed25519:${masterKey}`, masterKey)) {
        throw invalidSignature(`${field} must be signed by the master key ed25519:${masterKey}`);
      }
    }
    await refuseDeviceIdCollision(tx, userId, [...publicKeys.values()]);

    let changed = false;
    for (const [field, type] of FIELDS) {
      const key = upload[field];
      const current = stored.find((row) => row.key_type === type);
      if (!key || (current && sameSignedContent(current.key_json, key))) continue;
      if (current && current.public_key !== publicKeys.get(type)) await deleteSignaturesOfKey(tx, userId, current.public_key);
      await upsertCrossSigningKey(tx, userId, type, publicKeys.get(type)!, ownSignaturesOnly(key, userId), now);
      changed = true;
    }
    // A new master key orphans stored self-/user-signing keys it did not sign: drop them, so
    // /keys/query never serves a key chain that does not verify.
    for (const row of stored) {
      if (row.key_type === 'master' || publicKeys.has(row.key_type)) continue;
      if (hasValidSignature(row.key_json, userId, `ed25519:${masterKey}`, masterKey)) continue;
      await deleteSignaturesOfKey(tx, userId, row.public_key);
      await deleteCrossSigningKey(tx, userId, row.key_type);
      changed = true;
    }
    if (changed) await recordDeviceListChange(tx, [userId], now);
  });
}

function checkKeyShape(key: CrossSigningKey, userId: string, type: CrossSigningKeyType, field: string): string {
  if (key.user_id !== userId) throw invalidParam(`${field}.user_id must be your own user ID ${userId}`);
  if (!key.usage.includes(type)) throw invalidParam(`${field}.usage must include "${type}"`);
  const publicKey = crossSigningPublicKey(key);
  if (!publicKey) throw invalidParam(`${field}.keys must hold exactly one key named ed25519:<public key> whose value is that unpadded base64 ed25519 public key`);
  return publicKey;
}

/** Device IDs and cross-signing key IDs share a namespace (spec: "Key and signature security"). */
async function refuseDeviceIdCollision(tx: Tx, userId: string, publicKeys: string[]): Promise<void> {
  const clash = await findDeviceIdAmong(tx, userId, publicKeys);
  if (clash) throw forbidden(`Key ID in use: ${clash} is one of your device IDs`);
}
