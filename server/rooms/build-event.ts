import type { PersistentEvent, Pdu } from './event.ts';
import { computeEventId } from './event-hashing.ts';
import { signEvent } from './event-signing.ts';
import { roomVersionRules } from './room-versions.ts';
import type { SigningKey } from './signing.ts';

export interface BuildEventInput {
  roomVersion: string;
  roomId: string;
  sender: string;
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
  prevEvents: readonly string[];
  authEvents: readonly string[];
  depth: number;
  originServerTs: number;
  /** Our server name: the entity that signs the event. */
  origin: string;
  signingKey: SigningKey;
  /** For m.room.redaction: placed top-level in v10, in content from v11. */
  redacts?: string;
}

/** The spec's limit on depth is 2^63-1, but canonical JSON cannot carry more than 2^53-1. */
const MAX_DEPTH = Number.MAX_SAFE_INTEGER;

/**
 * A complete, signed event: content hash, then signature over the redacted
 * form, then the event ID from the reference hash. Deterministic: the same
 * input (and key) gives the same event ID. The PDU carries no `origin` field:
 * the current PDU format does not define one, and v11 redacts it anyway.
 */
export function buildEvent(input: BuildEventInput): PersistentEvent {
  const rules = roomVersionRules(input.roomVersion);
  if (!Number.isSafeInteger(input.depth) || input.depth < 0 || input.depth > MAX_DEPTH) {
    throw new RangeError(`depth must be a non-negative integer, got ${input.depth}`);
  }
  if (input.redacts !== undefined && input.type !== 'm.room.redaction') {
    throw new TypeError(`only m.room.redaction events redact, not ${input.type}`);
  }
  const content = structuredClone(input.content);
  if (input.redacts !== undefined && rules.redactsInContent) content.redacts = input.redacts;
  const unsignedPdu: Omit<Pdu, 'hashes' | 'signatures'> = {
    room_id: input.roomId,
    sender: input.sender,
    type: input.type,
    ...(input.stateKey !== undefined ? { state_key: input.stateKey } : {}),
    content,
    origin_server_ts: input.originServerTs,
    prev_events: [...input.prevEvents],
    auth_events: [...input.authEvents],
    depth: input.depth,
    ...(input.redacts !== undefined && !rules.redactsInContent ? { redacts: input.redacts } : {}),
  };
  const pdu: Pdu = signEvent(unsignedPdu, rules.id, input.origin, input.signingKey);
  return { event_id: computeEventId(pdu, rules.id), ...pdu };
}
