import { toPdu, type EventJson } from './event.ts';
import { hashesFor } from './event-hashing.ts';
import { redactEvent } from './redaction.ts';
import { signJson, verifyJsonSignature, type SigningKey } from './signing.ts';

type Signatures = Record<string, Record<string, string>>;
type SignableJson = Parameters<typeof signJson>[0];

/**
 * Spec: server-server-api, "Adding hashes and signatures to outgoing events".
 * The content hash covers the full event; the signature covers the redacted
 * event (including that hash), so it still verifies after a redaction.
 */
export function signEvent<T extends EventJson>(pdu: T, roomVersion: string, origin: string, key: SigningKey): T & {
  hashes: { sha256: string };
  signatures: Signatures;
} {
  const hashed = { ...pdu, hashes: hashesFor(pdu) };
  const signed = signJson(redactEvent(hashed, roomVersion) as SignableJson, origin, key);
  const existing = (pdu.signatures ?? {}) as Signatures;
  const signatures: Signatures = { ...existing, [origin]: { ...existing[origin], ...signed.signatures?.[origin] } };
  return { ...hashed, signatures };
}

/**
 * True when `serverName` signed the event's redacted form with the given key.
 * Works on full and redacted copies alike; a stored event's event_id is dropped first.
 */
export function verifyEventSignature(
  event: EventJson,
  roomVersion: string,
  serverName: string,
  keyId: string,
  publicKeyBase64: string,
): boolean {
  try {
    const redacted = redactEvent(toPdu(event), roomVersion) as SignableJson;
    return verifyJsonSignature(redacted, serverName, keyId, publicKeyBase64);
  } catch {
    return false;
  }
}
