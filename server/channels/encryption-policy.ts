import { forbidden, type MatrixError } from '../errors.ts';
import type { PersistentEvent } from '../rooms/event.ts';

/**
 * "Encrypted" is a promise, not a label: a room with `m.room.encryption` in
 * its state is an encryption-required channel however it was created, and
 * the server refuses whatever would let plaintext in or switch encryption off.
 *
 * Allowed in the clear, as the spec's encrypted rooms have them: state events
 * (state is never encrypted), redactions (they carry no content of their
 * own), and reactions (`m.reaction` holds only an annotation, and the spec
 * says such events are normally sent unencrypted).
 */
export const ENCRYPTION_STATE = { type: 'm.room.encryption', state_key: '' } as const;

const CLEAR_MESSAGE_TYPES = new Set(['m.room.encrypted', 'm.room.redaction']);

/** Message event types: sent with a state key they would be plaintext messages in state. */
const MESSAGE_TYPES = new Set(['m.room.message', 'm.sticker', 'm.reaction', 'm.room.encrypted', 'm.poll.start', 'm.poll.response', 'm.poll.end', 'm.location', 'm.beacon']);

export interface EncryptionPolicyInput {
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
}

/** Why this event may not be sent under the room's encryption (undefined: it may). */
export function encryptionPolicyRefusal(draft: EncryptionPolicyInput, current: PersistentEvent | undefined): MatrixError | undefined {
  if (!current) return undefined;
  const algorithm = current.content.algorithm;
  if (draft.stateKey === undefined) {
    if (CLEAR_MESSAGE_TYPES.has(draft.type)) return undefined;
    if (draft.type === 'm.reaction' && isAnnotationOnly(draft.content)) return undefined;
    return forbidden(
      `This channel requires end-to-end encryption: ${draft.type} events must be sent encrypted (as m.room.encrypted), ` +
        'and the server refuses them in the clear',
    );
  }
  if (MESSAGE_TYPES.has(draft.type) || carriesMessageText(draft.type, draft.content)) {
    return forbidden(
      `This channel requires end-to-end encryption: a ${draft.type} state event carrying message text would be stored in the clear; ` +
        'send messages as m.room.encrypted events',
    );
  }
  if (draft.type === ENCRYPTION_STATE.type && draft.stateKey === ENCRYPTION_STATE.state_key && draft.content.algorithm !== algorithm) {
    return forbidden(
      `This channel requires end-to-end encryption: its encryption (${String(algorithm)}) cannot be removed or changed`,
    );
  }
  return undefined;
}

/** A redaction would strip the encryption event's content, which is switching encryption off. */
export function redactionPolicyRefusal(target: PersistentEvent): MatrixError | undefined {
  if (target.type === ENCRYPTION_STATE.type && target.state_key === ENCRYPTION_STATE.state_key) {
    return forbidden('This channel requires end-to-end encryption: its m.room.encryption event cannot be redacted');
  }
  return undefined;
}

/** Content that is an annotation and nothing else: no body or other field that could carry a message. */
function isAnnotationOnly(content: Record<string, unknown>): boolean {
  const relation = content['m.relates_to'];
  if (typeof relation !== 'object' || relation === null) return false;
  if ((relation as Record<string, unknown>).rel_type !== 'm.annotation') return false;
  // Clients add `shortcode` for custom emoji; anything else would be plaintext riding on a reaction.
  return Object.keys(content).every((key) => key === 'm.relates_to' || key === 'shortcode');
}

/** Spec state whose content has a `body` by definition (the tombstone's notice is public by design). */
const STATE_WITH_SPEC_BODY = new Set(['m.room.tombstone']);

/** State carrying a message body (`body`, `formatted_body`) is a message in disguise; names and topics have their own keys. */
function carriesMessageText(type: string, content: Record<string, unknown>): boolean {
  if (STATE_WITH_SPEC_BODY.has(type)) return 'formatted_body' in content;
  return 'body' in content || 'formatted_body' in content;
}
