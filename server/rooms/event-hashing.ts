import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { decodeBase64, encodeUnpaddedBase64, encodeUrlSafeBase64 } from './base64.ts';
import { toPdu, type EventJson } from './event.ts';
import { redactEvent } from './redaction.ts';

/**
 * Content and reference hashes (spec: server-server-api, "Calculating the
 * content hash" / "reference hash") and v4+ event IDs.
 *
 * `contentHash` hashes exactly the object it is given, as the spec's examples
 * do. The event-level functions (`referenceHash`, `computeEventId`,
 * `verifyContentHash`) also take stored events: they drop `event_id` first,
 * because in v4+ rooms the ID is derived from the hash and is not in the PDU.
 */

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** sha256 of the canonical JSON of `pdu` without `unsigned`, `signatures` and `hashes`. */
export function contentHash(pdu: EventJson): Buffer {
  const { unsigned: _unsigned, signatures: _signatures, hashes: _hashes, ...hashed } = pdu;
  return sha256(canonicalJson(hashed));
}

/** sha256 of the canonical JSON of the redacted event without `signatures` and `unsigned`. */
export function referenceHash(event: EventJson, roomVersion: string): Buffer {
  const { signatures: _signatures, unsigned: _unsigned, ...hashed } = redactEvent(toPdu(event), roomVersion);
  return sha256(canonicalJson(hashed));
}

/** `$` + URL-safe unpadded base64 of the reference hash (room versions 4+). */
export function computeEventId(event: EventJson, roomVersion: string): string {
  return `$${encodeUrlSafeBase64(referenceHash(event, roomVersion))}`;
}

/**
 * True when `hashes.sha256` matches the event's content. A mismatch means the
 * event reached us redacted (or was tampered with) and must be used redacted.
 */
export function verifyContentHash(event: EventJson): boolean {
  const hashes = event.hashes as { sha256?: unknown } | undefined;
  if (typeof hashes?.sha256 !== 'string') return false;
  try {
    return decodeBase64(hashes.sha256).equals(contentHash(toPdu(event)));
  } catch {
    return false;
  }
}

/** The `hashes` object for an outgoing event. */
export function hashesFor(pdu: EventJson): { sha256: string } {
  return { sha256: encodeUnpaddedBase64(contentHash(pdu)) };
}
