import type { AppContext } from '../app-context.ts';
import { forbidden, type MatrixError } from '../errors.ts';
import type { PersistentEvent } from '../rooms/event.ts';
import type { Queryable } from '../storage/database.ts';
import { findChannelPolicy, membersWith } from '../storage/queries/channels.ts';
import { exclusiveOwnerOfUser } from '../appservices/namespaces.ts';
import type { Registration } from '../appservices/registration.ts';
import { ENCRYPTION_STATE } from './encryption-policy.ts';

/** Memberships that put a user on the path into the room: each is checked, so no door is left open. */
const ADMITTING = new Set(['invite', 'join', 'knock']);

export interface BotAdmissionInput {
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
}

/**
 * Bots are the users of an appservice's exclusive namespace (and its sender).
 * Checked on the event path, so every route to a membership is covered
 * (invite, join by ID or alias, knock, createRoom's invite list, appservice
 * masquerading):
 *  - a bot whose registration lacks `io.palisade.supports_encryption: true`
 *    may not be invited to, join or knock on an encrypted channel;
 *  - a channel whose policy lists allowed bots admits only bots of those appservices;
 *  - encryption cannot be turned on while such a bot is joined, invited or
 *    knocking: the refusal names them, to be removed first (we refuse rather
 *    than kick, so nobody is silently removed).
 */
export async function botAdmissionRefusal(app: AppContext, db: Queryable, roomId: string, draft: BotAdmissionInput, encryption: PersistentEvent | undefined): Promise<MatrixError | undefined> {
  if (draft.type === 'm.room.member' && draft.stateKey !== undefined && ADMITTING.has(String(draft.content.membership))) {
    const owner = exclusiveOwnerOfUser(app.appservices, draft.stateKey);
    if (!owner) return undefined;
    if (encryption && !owner.supportsEncryption) {
      return forbidden(
        `This channel requires end-to-end encryption: ${draft.stateKey} is a bot of the application service ${owner.id}, ` +
          'whose registration does not declare io.palisade.supports_encryption: true',
      );
    }
    const policy = await findChannelPolicy(db, roomId);
    if (policy?.allowed_bots && !policy.allowed_bots.includes(owner.id)) {
      return forbidden(`This channel's bot policy does not allow bots of the application service ${owner.id} (${draft.stateKey})`);
    }
    return undefined;
  }
  if (draft.type === ENCRYPTION_STATE.type && draft.stateKey === ENCRYPTION_STATE.state_key && !encryption) {
    const bots = await botsWithoutEncryption(app, db, roomId);
    if (bots.length > 0) {
      return forbidden(
        `Encryption cannot be turned on while bots without encryption support are in the channel: ${bots.join(', ')}; remove them first`,
      );
    }
  }
  return undefined;
}

/** Bots joined, invited or knocking whose appservice does not declare encryption support. */
export async function botsWithoutEncryption(app: AppContext, db: Queryable, roomId: string): Promise<string[]> {
  const members = await membersWith(db, roomId, [...ADMITTING]);
  return members.map((member) => member.user_id).filter((userId) => {
    const owner = exclusiveOwnerOfUser(app.appservices, userId);
    return owner !== undefined && !owner.supportsEncryption;
  });
}

/** Bots joined, invited or knocking whose appservice is not in `allowed`. */
export async function botsOutside(app: AppContext, db: Queryable, roomId: string, allowed: readonly string[]): Promise<string[]> {
  const members = await membersWith(db, roomId, [...ADMITTING]);
  return members.map((member) => member.user_id).filter((userId) => {
    const owner: Registration | undefined = exclusiveOwnerOfUser(app.appservices, userId);
    return owner !== undefined && !allowed.includes(owner.id);
  });
}
