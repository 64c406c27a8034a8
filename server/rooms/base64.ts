/** Matrix uses unpadded base64 (standard alphabet) for keys, hashes and signatures. */
export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Event IDs in room versions 4+ use the URL-safe alphabet, still unpadded. */
export function encodeUrlSafeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Accepts padded or unpadded input in either alphabet. */
export function decodeBase64(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
