import type { Queryable, Tx } from '../database.ts';
import type { CrossSigningKeyRow, CrossSigningKeyType, KeySignatureRow, NewKeySignatureRow } from '../tables/e2ee.ts';

export async function findCrossSigningKeys(db: Queryable, userIds: string[]): Promise<CrossSigningKeyRow[]> {
  if (userIds.length === 0) return [];
  return db.selectFrom('cross_signing_keys').selectAll().where('user_id', 'in', userIds).execute();
}

export async function findCrossSigningKey(db: Queryable, userId: string, type: CrossSigningKeyType): Promise<CrossSigningKeyRow | undefined> {
  return db.selectFrom('cross_signing_keys').selectAll().where('user_id', '=', userId).where('key_type', '=', type).executeTakeFirst();
}

export async function findCrossSigningPublicKeys(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('cross_signing_keys').select('public_key').where('user_id', '=', userId).execute();
  return rows.map((row) => row.public_key);
}

/** Locks the user's cross-signing rows so concurrent uploads serialise. */
export async function lockCrossSigningKeys(tx: Tx, userId: string): Promise<CrossSigningKeyRow[]> {
  return tx.selectFrom('cross_signing_keys').selectAll().where('user_id', '=', userId).forUpdate().execute();
}

export async function upsertCrossSigningKey(tx: Tx, userId: string, type: CrossSigningKeyType, publicKey: string, keyJson: object, now: number): Promise<void> {
  await tx
    .insertInto('cross_signing_keys')
    .values({ user_id: userId, key_type: type, public_key: publicKey, key_json: JSON.stringify(keyJson), updated_ts: now })
    .onConflict((conflict) =>
      conflict.columns(['user_id', 'key_type']).doUpdateSet((eb) => ({
        public_key: eb.ref('excluded.public_key'),
        key_json: eb.ref('excluded.key_json'),
        updated_ts: eb.ref('excluded.updated_ts'),
      })),
    )
    .execute();
}

export async function deleteCrossSigningKey(tx: Tx, userId: string, type: CrossSigningKeyType): Promise<void> {
  await tx.deleteFrom('cross_signing_keys').where('user_id', '=', userId).where('key_type', '=', type).execute();
}

/** Signatures on a replaced key, and signatures it made, no longer mean anything. */
export async function deleteSignaturesOfKey(tx: Tx, userId: string, publicKey: string): Promise<void> {
  await tx.deleteFrom('key_signatures').where('target_user_id', '=', userId).where('target_key_id', '=', publicKey).execute();
  await tx.deleteFrom('key_signatures').where('signer_user_id', '=', userId).where('signer_key_id', '=', `ed25519:${publicKey}`).execute();
}

/** Signatures on a deleted device and signatures it made (of its user's master key). */
export async function deleteSignaturesOfDevices(db: Queryable, userId: string, deviceIds: string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await db.deleteFrom('key_signatures').where('target_user_id', '=', userId).where('target_key_id', 'in', deviceIds).execute();
  await db
    .deleteFrom('key_signatures')
    .where('signer_user_id', '=', userId)
    .where('signer_key_id', 'in', deviceIds.map((id) => `ed25519:${id}`))
    .execute();
}

export async function insertSignatures(tx: Tx, rows: NewKeySignatureRow[]): Promise<void> {
  // One statement cannot update a row twice: keep the last of duplicate keys.
  const unique = new Map(rows.map((row) => [[row.target_user_id, row.target_key_id, row.signer_user_id, row.signer_key_id].join('\n'), row]));
  if (unique.size === 0) return;
  await tx
    .insertInto('key_signatures')
    .values([...unique.values()])
    .onConflict((conflict) =>
      conflict.columns(['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id']).doUpdateSet((eb) => ({ signature: eb.ref('excluded.signature') })),
    )
    .execute();
}

/**
 * Signatures on the given users' keys that `viewer` may see: those made by
 * the key's owner and those made by the viewer (spec: "Key and signature
 * security"; nobody sees another user's user-signing signatures of third parties).
 */
export async function visibleSignatures(db: Queryable, targetUserIds: string[], viewer: string): Promise<KeySignatureRow[]> {
  if (targetUserIds.length === 0) return [];
  return db
    .selectFrom('key_signatures')
    .selectAll()
    .where('target_user_id', 'in', targetUserIds)
    .where((eb) => eb.or([eb('signer_user_id', '=', eb.ref('target_user_id')), eb('signer_user_id', '=', viewer)]))
    .execute();
}

/** The first of `ids` that is one of the user's device IDs, if any. */
export async function findDeviceIdAmong(db: Queryable, userId: string, ids: string[]): Promise<string | undefined> {
  if (ids.length === 0) return undefined;
  const row = await db.selectFrom('devices').select('device_id').where('user_id', '=', userId).where('device_id', 'in', ids).executeTakeFirst();
  return row?.device_id;
}
