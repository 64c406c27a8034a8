import type { AppContext } from '../app-context.ts';
import { presenceContent } from '../accounts/presence.ts';
import type { Tx } from '../storage/database.ts';
import { joinedRoomsOfUsers, presenceAfter, receiptsAfter, roomInterestFacts, roomsJoinedByAppserviceUsers } from '../storage/queries/appservices.ts';
import type { AppserviceStateRow } from '../storage/tables/appservices.ts';
import { addReceipt, PRIVATE_RECEIPT_TYPES, type ReceiptContent } from '../sync/streams/receipts.ts';
import { isInterestedInRoom } from './interest.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** Receipt and presence rows looked at per transaction; the rest wait for the next one. */
const EPHEMERAL_SCAN = 500;

/** An ephemeral event as a transaction carries it (MSC2409): room-scoped ones name their room. */
export type EphemeralEvent =
  | { type: 'm.typing'; room_id: string; content: { user_ids: string[] } }
  | { type: 'm.receipt'; room_id: string; content: ReceiptContent }
  | { type: 'm.presence'; sender: string; content: Record<string, unknown> };

export interface ChosenEphemeral {
  events: EphemeralEvent[];
  /** Positions the transaction covers, stored with it. */
  positions: { receipt_position: number; presence_position: number };
  /** Typing position covered; recorded (in memory) once the transaction is committed. */
  typingUpTo: number;
  more: boolean;
}

/**
 * Typing is live state, not history: what an appservice needs is who types
 * now. Its position is per process (the typing store's counter, which starts
 * again at 0 with the process, as the typing itself does), so how far each
 * appservice has been sent typing is kept here, in memory, and never stored:
 * after a restart nobody types until they say so again, and nothing stale is
 * replayed to an appservice that was down.
 */
const typingSent = new WeakMap<AppContext, Map<string, number>>();

function typingSentFor(app: AppContext): Map<string, number> {
  let sent = typingSent.get(app);
  if (!sent) typingSent.set(app, (sent = new Map()));
  return sent;
}

/** After the transaction carrying typing up to `position` was committed: later builds send only newer changes. */
export function recordTypingSent(app: AppContext, appserviceId: string, position: number): void {
  const sent = typingSentFor(app);
  sent.set(appserviceId, Math.max(sent.get(appserviceId) ?? 0, position));
}

/**
 * MSC2409 ephemeral events for an appservice with `receive_ephemeral`, from
 * its positions on each stream up to what readers may see now (for receipts
 * and presence, what this process sees or the API processes announced,
 * whichever is further: a worker does not see those streams move): `m.typing`
 * (the current list) of rooms whose typing changed where one of its users is
 * joined, `m.receipt` of rooms it is interested in (private receipts only of
 * its own users), and `m.presence` of users it is interested in (its own, and
 * those sharing a room it is interested in).
 */
export async function chooseEphemeral(app: AppContext, tx: Tx, registration: Registration, state: AppserviceStateRow): Promise<ChosenEphemeral> {
  const [typing, receipts, presence] = [await chooseTyping(app, tx, registration), await chooseReceipts(app, tx, registration, state), await choosePresence(app, tx, registration, state)];
  return {
    events: [...typing.events, ...receipts.events, ...presence.events],
    positions: { receipt_position: receipts.upTo, presence_position: presence.upTo },
    typingUpTo: typing.upTo,
    more: receipts.more || presence.more,
  };
}

async function chooseTyping(app: AppContext, tx: Tx, registration: Registration): Promise<{ events: EphemeralEvent[]; upTo: number }> {
  const current = app.typing.currentPosition();
  const sent = typingSentFor(app).get(registration.id) ?? 0;
  if (current <= sent) return { events: [], upTo: sent };
  const events: EphemeralEvent[] = [];
  for (const roomId of await roomsJoinedByAppserviceUsers(tx, registration.id, registration.senderUserId)) {
    const { userIds, position } = app.typing.typingIn(roomId);
    if (position > sent) events.push({ type: 'm.typing', room_id: roomId, content: { user_ids: userIds } });
  }
  return { events, upTo: current };
}

async function chooseReceipts(app: AppContext, tx: Tx, registration: Registration, state: AppserviceStateRow) {
  const current = Math.max(app.receiptStream.currentPosition(), Number(state.receipt_visible_position));
  const after = Number(state.receipt_position);
  if (current <= after) return { events: [], upTo: after, more: false };
  const rows = await receiptsAfter(tx, after, current, EPHEMERAL_SCAN);
  // Each receipt write has its own position, so stopping at a row never splits one.
  const more = rows.length === EPHEMERAL_SCAN;
  const upTo = more ? Number(rows[rows.length - 1].stream_id) : current;
  const facts = await roomInterestFacts(tx, [...new Set(rows.map((row) => row.room_id))]);
  const byRoom = new Map<string, ReceiptContent>();
  for (const row of rows) {
    if (!isInterestedInRoom(registration, row.room_id, facts)) continue;
    // A private receipt is its sender's alone: only the appservice acting for that user sees it.
    if (PRIVATE_RECEIPT_TYPES.has(row.receipt_type) && !ownsUser(registration, row.user_id)) continue;
    let content = byRoom.get(row.room_id);
    if (!content) byRoom.set(row.room_id, (content = {}));
    addReceipt(content, row);
  }
  const events: EphemeralEvent[] = [...byRoom].map(([roomId, content]) => ({ type: 'm.receipt', room_id: roomId, content }));
  return { events, upTo, more };
}

async function choosePresence(app: AppContext, tx: Tx, registration: Registration, state: AppserviceStateRow) {
  const current = Math.max(app.presenceStream.currentPosition(), Number(state.presence_visible_position));
  const after = Number(state.presence_position);
  if (current <= after) return { events: [], upTo: after, more: false };
  const rows = await presenceAfter(tx, after, current, EPHEMERAL_SCAN);
  const more = rows.length === EPHEMERAL_SCAN;
  const upTo = more ? Number(rows[rows.length - 1].stream_id) : current;
  const roomsByUser = await joinedRoomsOfUsers(tx, rows.map((row) => row.user_id));
  const facts = await roomInterestFacts(tx, [...new Set([...roomsByUser.values()].flat())]);
  const now = Date.now();
  const events: EphemeralEvent[] = rows
    .filter((row) => ownsUser(registration, row.user_id) || (roomsByUser.get(row.user_id) ?? []).some((roomId) => isInterestedInRoom(registration, roomId, facts)))
    .map((row) => ({ type: 'm.presence', sender: row.user_id, content: presenceContent(row, now) as unknown as Record<string, unknown> }));
  return { events, upTo, more };
}
