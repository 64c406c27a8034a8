import type { AppContext } from '../app-context.ts';
import { forbidden } from '../errors.ts';
import { findMembership } from '../storage/queries/room-state.ts';

/** Longest a single typing notification lasts; clients re-send while the user keeps typing. */
export const MAX_TYPING_TIMEOUT_MS = 30_000;
/** When a client says it types without a timeout. */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;

/**
 * PUT /rooms/{roomId}/typing/{userId}: only for oneself, only in a room one is
 * joined to. Typing ends after the timeout (capped) unless renewed; the room's
 * members see the new list in their next (or woken) sync.
 */
export async function setTyping(app: AppContext, callerId: string, roomId: string, userId: string, typing: boolean, timeoutMs: number | undefined): Promise<void> {
  if (userId !== callerId) throw forbidden('You can only set your own typing state');
  const membership = await findMembership(app.db, roomId, userId);
  if (membership?.membership !== 'join') throw forbidden(`You are not in room ${roomId}`);
  await app.typing.set(roomId, userId, typing, Math.min(timeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS, MAX_TYPING_TIMEOUT_MS));
}
