import { ErrCode, tooLarge } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { findCrossSigningKeys, insertSignatures } from '../storage/queries/cross-signing.ts';
import { listDeviceKeys } from '../storage/queries/device-keys.ts';
import type { NewKeySignatureRow } from '../storage/tables/e2ee.ts';
import { recordDeviceListChange } from './device-list-stream.ts';
import { serverOf } from './federation-failures.ts';
import { hasValidSignature, INVALID_SIGNATURE, sameSignedContent, type Signatures } from './key-json.ts';

/** Bound on signed objects in one /keys/signatures/upload. */
export const MAX_SIGNED_OBJECTS_PER_UPLOAD = 1000;

type SignedObject = Record<string, unknown> & { signatures?: Signatures };
type Failure = { errcode: string; error: string };
class Refusal extends Error {
  declare readonly failure: Failure;
  constructor(errcode: string, error: string) {
    super(error);
    this.failure = { errcode, error };
  }
}
const notFound = (error: string) => new Refusal(ErrCode.NOT_FOUND, error);
const badSignature = (error: string) => new Refusal(INVALID_SIGNATURE, error);
const mismatch = (error: string) => new Refusal(ErrCode.INVALID_PARAM, error);

/**
 * POST /keys/signatures/upload. The caller may sign, with their own keys:
 * their devices (by their self-signing key), their master key (by their
 * devices), and other users' master keys (by their user-signing key). Each
 * signed object must equal the stored key apart from signatures, and each
 * signature must verify; anything else is a per-key failure.
 */
export async function uploadSignatures(
  db: Queryable,
  signer: string,
  serverName: string,
  body: Record<string, Record<string, SignedObject>>,
  now = Date.now(),
): Promise<{ failures: Record<string, Record<string, Failure>> }> {
  const total = Object.values(body).reduce((sum, keys) => sum + Object.keys(keys).length, 0);
  if (total > MAX_SIGNED_OBJECTS_PER_UPLOAD) throw tooLarge(`At most ${MAX_SIGNED_OBJECTS_PER_UPLOAD} signed objects per request`);
  const targets = Object.keys(body).filter((userId) => serverOf(userId) === serverName);
  const crossSigning = await findCrossSigningKeys(db, [...new Set([signer, ...targets])]);
  const keyOf = (userId: string, type: string) => crossSigning.find((row) => row.user_id === userId && row.key_type === type);
  const ownDevices = await listDeviceKeys(db, [{ userId: signer, deviceIds: null }]);

  const failures: Record<string, Record<string, Failure>> = {};
  const rows: NewKeySignatureRow[] = [];
  for (const [targetUser, objects] of Object.entries(body)) {
    for (const [keyId, object] of Object.entries(objects)) {
      try {
        if (serverOf(targetUser) !== serverName) throw notFound('This server does not federate yet; keys of remote users cannot be signed here');
        if (targetUser === signer) rows.push(...signaturesOfOwnKey(signer, keyId, object));
        else rows.push(signatureOfOtherUser(signer, targetUser, keyId, object));
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        (failures[targetUser] ??= {})[keyId] = error.failure;
      }
    }
  }

  function signaturesOfOwnKey(userId: string, keyId: string, object: SignedObject): NewKeySignatureRow[] {
    const master = keyOf(userId, 'master');
    if (master && keyId === master.public_key) {
      if (!sameSignedContent(master.key_json, object)) throw mismatch('The signed object does not match your stored master key');
      const made = Object.entries(object.signatures?.[userId] ?? {}).filter(([signing]) => signing !== `ed25519:${master.public_key}`);
      if (made.length === 0) throw badSignature('No signature by one of your devices on the master key');
      return made.map(([signingKeyId, signature]) => {
        const device = ownDevices.find((row) => `ed25519:${row.device_id}` === signingKeyId);
        const publicKey = (device?.key_json.keys as Record<string, string> | undefined)?.[signingKeyId];
        if (!publicKey) throw badSignature(`${signingKeyId} is not one of your devices' keys`);
        if (!hasValidSignature(object, userId, signingKeyId, publicKey)) throw badSignature(`Invalid signature by ${signingKeyId}`);
        return row(userId, keyId, userId, signingKeyId, signature);
      });
    }
    const device = ownDevices.find((entry) => entry.device_id === keyId);
    if (!device) throw notFound(`Unknown device or key ${keyId}`);
    if (!sameSignedContent(device.key_json, object)) throw mismatch(`The signed object does not match the stored keys of device ${keyId}`);
    const selfSigning = keyOf(userId, 'self_signing');
    if (!selfSigning) throw notFound('You have no self-signing key to sign devices with');
    return [verified(object, userId, keyId, userId, selfSigning.public_key)];
  }

  function signatureOfOtherUser(userId: string, targetUser: string, keyId: string, object: SignedObject): NewKeySignatureRow {
    const userSigning = keyOf(userId, 'user_signing');
    if (!userSigning) throw notFound('You have no user-signing key to sign other users with');
    const master = keyOf(targetUser, 'master');
    if (!master || keyId !== master.public_key) throw notFound(`${keyId} is not the master key of ${targetUser}; only master keys of other users can be signed`);
    if (!sameSignedContent(master.key_json, object)) throw mismatch(`The signed object does not match the master key of ${targetUser}`);
    return verified(object, targetUser, keyId, userId, userSigning.public_key);
  }

  function verified(object: SignedObject, targetUser: string, targetKey: string, signingUser: string, publicKey: string): NewKeySignatureRow {
    const signingKeyId = `ed25519:${publicKey}`;
    const signature = object.signatures?.[signingUser]?.[signingKeyId];
    if (!signature || !hasValidSignature(object, signingUser, signingKeyId, publicKey)) throw badSignature(`Missing or invalid signature by ${signingKeyId}`);
    return row(targetUser, targetKey, signingUser, signingKeyId, signature);
  }

  function row(targetUser: string, targetKey: string, signingUser: string, signingKeyId: string, signature: string): NewKeySignatureRow {
    return { target_user_id: targetUser, target_key_id: targetKey, signer_user_id: signingUser, signer_key_id: signingKeyId, signature, created_ts: now };
  }

  if (rows.length > 0) {
    await inTransaction(db, async (tx) => {
      await insertSignatures(tx, rows);
      await recordDeviceListChange(tx, [...new Set(rows.map((entry) => entry.target_user_id))], now);
    });
  }
  return { failures };
}
