import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { decodeBase64, encodeUnpaddedBase64 } from './base64.ts';

/** The server's (or a device's) ed25519 key, named as in `verify_keys`: `ed25519:<version>`. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyBase64: string;
}

type Signed = { signatures?: Record<string, Record<string, string>>; unsigned?: unknown; [key: string]: unknown };

/** Signs `object` as the spec's "Signing JSON" says: without `signatures` and `unsigned`. */
export function signJson<T extends Signed>(object: T, signer: string, key: SigningKey): T {
  const { signatures, unsigned, ...rest } = object;
  const signature = encodeUnpaddedBase64(sign(null, Buffer.from(canonicalJson(rest)), key.privateKey));
  const merged = { ...signatures, [signer]: { ...signatures?.[signer], [key.keyId]: signature } };
  return { ...object, signatures: merged };
}

/** True when `object` carries a valid ed25519 signature by `signer` with the given public key. */
export function verifyJsonSignature(object: Signed, signer: string, keyId: string, publicKeyBase64: string): boolean {
  const signature = object.signatures?.[signer]?.[keyId];
  if (typeof signature !== 'string') return false;
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = object;
  try {
    const publicKey = ed25519PublicKey(publicKeyBase64);
    return verify(null, Buffer.from(canonicalJson(rest)), publicKey, decodeBase64(signature));
  } catch {
    return false;
  }
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519PublicKey(publicKeyBase64: string): KeyObject {
  const raw = decodeBase64(publicKeyBase64);
  if (raw.length !== 32) throw new Error('an ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}
