import { createHash, randomBytes } from 'node:crypto';

/** A random bearer token; the `pal_` prefix lets secret scanners recognise a leaked one. */
export function generateAccessToken(): string {
  return `pal_${randomBytes(32).toString('base64url')}`;
}

/** Only this hash is stored: tokens are 256 random bits, so a plain SHA-256 is enough. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

const DEVICE_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Ten upper-case letters, as Synapse makes them. */
export function generateDeviceId(): string {
  const bytes = randomBytes(10);
  return Array.from(bytes, (byte) => DEVICE_ID_ALPHABET[byte % DEVICE_ID_ALPHABET.length]).join('');
}
