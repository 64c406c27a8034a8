import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeBase64, encodeUnpaddedBase64 } from './rooms/base64.ts';
import type { SigningKey } from './rooms/signing.ts';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The server's ed25519 signing key, in Synapse's file format: one line
 * `ed25519 <version> <unpadded base64 seed>`. Generated on first start and kept.
 */
export function loadOrCreateSigningKey(path: string): SigningKey {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const version = `a_${randomKeyVersionSuffix()}`;
    writeFileSync(path, `ed25519 ${version} ${encodeUnpaddedBase64(randomBytes(32))}\n`, { mode: 0o600 });
  }
  return parseSigningKey(readFileSync(path, 'utf8'), path);
}

/** Synapse's `a_` + four random ASCII letters; base64url could yield `-`, which key IDs here do not allow. */
const KEY_VERSION_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function randomKeyVersionSuffix(): string {
  return Array.from(randomBytes(4), (byte) => KEY_VERSION_LETTERS[byte % KEY_VERSION_LETTERS.length]).join('');
}

export function parseSigningKey(text: string, source = 'signing key'): SigningKey {
  const line = text.split('\n').find((candidate) => candidate.trim() !== '');
  const parts = line?.trim().split(/\s+/) ?? [];
  if (parts.length !== 3 || parts[0] !== 'ed25519' || !/^[A-Za-z0-9_]+$/.test(parts[1])) {
    throw new Error(`${source}: expected one line "ed25519 <version> <base64 seed>"`);
  }
  const seed = decodeBase64(parts[2]);
  if (seed.length !== 32) throw new Error(`${source}: the ed25519 seed must be 32 bytes`);
  return signingKeyFromSeed(seed, parts[1]);
}

export function signingKeyFromSeed(seed: Uint8Array, version: string): SigningKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return {
    keyId: `ed25519:${version}`,
    privateKey,
    publicKeyBase64: encodeUnpaddedBase64(Buffer.from(jwk.x!, 'base64url')),
  };
}
