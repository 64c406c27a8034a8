import { z } from 'zod';
import { MatrixError } from '../errors.ts';
import { canonicalJson } from '../rooms/canonical-json.ts';
import { decodeBase64 } from '../rooms/base64.ts';
import { verifyJsonSignature } from '../rooms/signing.ts';

/**
 * The JSON shapes of E2EE keys (spec: "Key algorithms", "Device keys",
 * cross-signing), with bounds on every map and string, and the checks that
 * make a key trustworthy: its ed25519 signature and its public-key format.
 * Key material is public; it may appear in error messages, ciphertext may not.
 */

export const MAX_KEY_ID_LENGTH = 256;
/** Base64 of a 32-byte key is 43 characters; signatures 86. Room for other algorithms. */
export const MAX_KEY_VALUE_LENGTH = 1024;
export const MAX_KEYS_PER_OBJECT = 64;
export const MAX_ALGORITHMS = 64;
export const MAX_SIGNERS = 64;
export const MAX_IDENTIFIER_LENGTH = 255;

export const INVALID_SIGNATURE = 'M_INVALID_SIGNATURE';
export const invalidSignature = (message: string) => new MatrixError(INVALID_SIGNATURE, message, { status: 400 });

const KeyValue = z.string().min(1).max(MAX_KEY_VALUE_LENGTH);

/** `{ user_id: { "ed25519:KEY": "signature" } }` */
export const Signatures = z
  .record(z.string().min(1).max(MAX_IDENTIFIER_LENGTH), z.record(z.string().min(1).max(MAX_KEY_ID_LENGTH), KeyValue))
  .refine((map) => Object.keys(map).length <= MAX_SIGNERS && Object.values(map).every((keys) => Object.keys(keys).length <= MAX_KEYS_PER_OBJECT), {
    message: `at most ${MAX_SIGNERS} signers with ${MAX_KEYS_PER_OBJECT} signatures each`,
  });
export type Signatures = z.infer<typeof Signatures>;

const boundedRecord = <T extends z.ZodType>(value: T, max: number) =>
  z.record(z.string().min(1).max(MAX_KEY_ID_LENGTH), value).refine((map) => Object.keys(map).length <= max, { message: `at most ${max} entries` });

export const DeviceKeys = z.looseObject({
  user_id: z.string().min(1).max(MAX_IDENTIFIER_LENGTH),
  device_id: z.string().min(1).max(MAX_IDENTIFIER_LENGTH),
  algorithms: z.array(z.string().min(1).max(MAX_IDENTIFIER_LENGTH)).min(1).max(MAX_ALGORITHMS),
  keys: boundedRecord(KeyValue, MAX_KEYS_PER_OBJECT),
  signatures: Signatures,
});
export type DeviceKeys = z.infer<typeof DeviceKeys>;

/** A one-time or fallback key: a bare string (`curve25519`) or a signed key object. */
export const KeyObject = z.union([
  KeyValue,
  z.looseObject({ key: KeyValue, signatures: Signatures, fallback: z.boolean().optional() }),
]);
export type KeyObject = z.infer<typeof KeyObject>;

export const CrossSigningKey = z.looseObject({
  user_id: z.string().min(1).max(MAX_IDENTIFIER_LENGTH),
  usage: z.array(z.string().min(1).max(MAX_IDENTIFIER_LENGTH)).min(1).max(8),
  keys: boundedRecord(KeyValue, 1),
  signatures: Signatures.optional(),
});
export type CrossSigningKey = z.infer<typeof CrossSigningKey>;

/** Splits `<algorithm>:<key_id>`; null when the name has no colon or an empty part. */
export function splitKeyName(name: string): { algorithm: string; keyId: string } | null {
  const colon = name.indexOf(':');
  if (colon <= 0 || colon === name.length - 1) return null;
  return { algorithm: name.slice(0, colon), keyId: name.slice(colon + 1) };
}

/** True when `text` is unpadded base64 of a 32-byte key (ed25519 and curve25519 public keys). */
export function isBase64Key32(text: string): boolean {
  return /^[A-Za-z0-9+/]{43}$/.test(text) && decodeBase64(text).length === 32;
}

/** Verifies `signatures[signer][keyId]` over the object with an ed25519 public key. */
export function hasValidSignature(object: Record<string, unknown>, signer: string, keyId: string, publicKey: string): boolean {
  try {
    return verifyJsonSignature(object as Parameters<typeof verifyJsonSignature>[0], signer, keyId, publicKey);
  } catch {
    return false;
  }
}

/** True when both are the same key apart from `signatures` and `unsigned` (compared as canonical JSON). */
export function sameSignedContent(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(withoutSignatures(a)) === canonicalJson(withoutSignatures(b));
  } catch {
    return false;
  }
}

function withoutSignatures(object: unknown): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return object;
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = object as Record<string, unknown>;
  return rest;
}

/** Keeps only the signatures made by `owner` (others' signatures live in `key_signatures`). */
export function ownSignaturesOnly<T extends { signatures?: Signatures }>(object: T, owner: string): T {
  const own = object.signatures?.[owner];
  return { ...object, signatures: own ? { [owner]: own } : {} };
}

/** `{ "ed25519:<pub>": "<pub>" }` → the public key; throws `M_INVALID_PARAM`-worthy null on anything else. */
export function crossSigningPublicKey(key: CrossSigningKey): string | null {
  const [name, value] = Object.entries(key.keys)[0] ?? [];
  if (!name || !value) return null;
  const split = splitKeyName(name);
  if (!split || split.algorithm !== 'ed25519' || split.keyId !== value || !isBase64Key32(value)) return null;
  return value;
}
