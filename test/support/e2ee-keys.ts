import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../server/rooms/canonical-json.ts';

/**
 * Real ed25519 / curve25519 keys for E2EE tests, made with node:crypto and
 * signed per the spec's "Signing JSON", so the server's checks run for real.
 */

type Json = Record<string, any>;

export interface Ed25519Key {
  publicKey: string;
  privateKey: KeyObject;
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

export function ed25519Key(): Ed25519Key {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { publicKey: b64(raw), privateKey };
}

export function curve25519PublicKey(): string {
  const { publicKey } = generateKeyPairSync('x25519');
  return b64(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
}

/** Adds `signatures[signer][keyId]` over the object without `signatures` and `unsigned`. */
export function signed<T extends Json>(object: T, signer: string, keyId: string, key: Ed25519Key): T {
  const { signatures, unsigned: _unsigned, ...rest } = object;
  const signature = b64(sign(null, Buffer.from(canonicalJson(rest)), key.privateKey));
  return { ...object, signatures: { ...signatures, [signer]: { ...signatures?.[signer], [keyId]: signature } } };
}

export interface TestDevice {
  userId: string;
  deviceId: string;
  ed25519: Ed25519Key;
  deviceKeys: Json;
  /** `count` signed_curve25519 one-time keys, IDs starting at `from`. */
  oneTimeKeys(count: number, from?: number): Record<string, Json>;
  fallbackKey(id?: string): Record<string, Json>;
  sign<T extends Json>(object: T): T;
}

export function testDevice(userId: string, deviceId: string): TestDevice {
  const ed25519 = ed25519Key();
  const keyId = `ed25519:${deviceId}`;
  const sign = <T extends Json>(object: T) => signed(object, userId, keyId, ed25519);
  const deviceKeys = sign({
    user_id: userId,
    device_id: deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${deviceId}`]: curve25519PublicKey(), [keyId]: ed25519.publicKey },
  });
  return {
    userId,
    deviceId,
    ed25519,
    deviceKeys,
    sign,
    oneTimeKeys(count, from = 1) {
      const keys: Record<string, Json> = {};
      for (let i = from; i < from + count; i++) keys[`signed_curve25519:${keyIdFor(i)}`] = sign({ key: curve25519PublicKey() });
      return keys;
    },
    fallbackKey(id = 'fallback1') {
      return { [`signed_curve25519:${id}`]: sign({ key: curve25519PublicKey(), fallback: true }) };
    },
  };
}

function keyIdFor(index: number): string {
  return `AAAA${index.toString(36).padStart(4, '0')}`;
}

export interface CrossSigningSet {
  master: Ed25519Key;
  selfSigning: Ed25519Key;
  userSigning: Ed25519Key;
  body: { master_key: Json; self_signing_key: Json; user_signing_key: Json };
}

/** A master key and self-/user-signing keys signed by it, as /keys/device_signing/upload takes them. */
export function crossSigningKeys(userId: string): CrossSigningSet {
  const master = ed25519Key();
  const selfSigning = ed25519Key();
  const userSigning = ed25519Key();
  const keyJson = (usage: string, key: Ed25519Key) => ({ user_id: userId, usage: [usage], keys: { [`ed25519:${key.publicKey}`]: key.publicKey } });
  const byMaster = (object: Json) => signed(object, userId, `ed25519:${master.publicKey}`, master);
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: keyJson('master', master),
      self_signing_key: byMaster(keyJson('self_signing', selfSigning)),
      user_signing_key: byMaster(keyJson('user_signing', userSigning)),
    },
  };
}
