import type { AppContext } from '../app-context.ts';
import { presenceContent, type PresenceContent } from '../accounts/presence.ts';
import type { Tx } from '../storage/database.ts';
import { joinedRoomsOfUsers, presenceAfter, receiptsAfter, roomInterestFacts, roomsJoinedByAppserviceUsers } from '../storage/queries/appservices.ts';
import type { AppserviceStateRow } from '../storage/tables/appservices.ts';
import { addReceiptWithoutOverwriting, PRIVATE_RECEIPT_TYPES, type ReceiptContent } from '../sync/streams/receipts.ts';
import { isInterestedInRoom } from './interest.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** Receipts, and presence changes, one transaction carries at most (Synapse's cap too); the rest go in the next. */
export const MAX_EPHEMERAL_PER_TRANSACTION = 100;
/** Rows read per query while looking for ones the appservice cares about. */
const SCAN_BATCH = 500;
/** Rows of one stream looked at while building one transaction, so the state row is never locked for long. */
const MAX_EPHEMERAL_SCAN = 5_000;

/** An ephemeral event as a transaction carries it (MSC2409): room-scoped ones name their room. */
export type EphemeralEvent =
  | { type: 'm.typing'; room_id: string; content: { user_ids: string[] } }
  | { type: 'm.receipt'; room_id: string; content: ReceiptContent }
  | { type: 'm.presence'; sender: string; content: PresenceContent };

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
  const scan = await scanStream(Number(state.receipt_position), current, (after, upTo) => receiptsAfter(tx, after, upTo, SCAN_BATCH), async (rows) => {
    const facts = await roomInterestFacts(tx, [...new Set(rows.map((row) => row.room_id))]);
    return rows.map(
      (row) =>
        isInterestedInRoom(registration, row.room_id, facts) &&
        // A private receipt is its sender's alone: only the appservice acting for that user sees it.
        (!PRIVATE_RECEIPT_TYPES.has(row.receipt_type) || ownsUser(registration, row.user_id)),
    );
  });
  // As in /sync: one user's receipts on one event in two threads go in separate m.receipt events, not over each other.
  const byRoom = new Map<string, ReceiptContent[]>();
  for (const row of scan.rows) {
    let contents = byRoom.get(row.room_id);
    if (!contents) byRoom.set(row.room_id, (contents = []));
    addReceiptWithoutOverwriting(contents, row);
  }
  const events: EphemeralEvent[] = [...byRoom].flatMap(([roomId, contents]) => contents.map((content): EphemeralEvent => ({ type: 'm.receipt', room_id: roomId, content })));
  return { events, upTo: scan.upTo, more: scan.more };
}

async function choosePresence(app: AppContext, tx: Tx, registration: Registration, state: AppserviceStateRow) {
  const current = Math.max(app.presenceStream.currentPosition(), Number(state.presence_visible_position));
  const scan = await scanStream(Number(state.presence_position), current, (after, upTo) => presenceAfter(tx, after, upTo, SCAN_BATCH), async (rows) => {
    const roomsByUser = await joinedRoomsOfUsers(tx, rows.map((row) => row.user_id));
    const facts = await roomInterestFacts(tx, [...new Set([...roomsByUser.values()].flat())]);
    return rows.map((row) => ownsUser(registration, row.user_id) || (roomsByUser.get(row.user_id) ?? []).some((roomId) => isInterestedInRoom(registration, roomId, facts)));
  });
  const now = Date.now();
  const events: EphemeralEvent[] = scan.rows.map((row) => ({ type: 'm.presence', sender: row.user_id, content: presenceContent(row, now) }));
  return { events, upTo: scan.upTo, more: scan.more };
}

/**
 * Rows of a stream after `after` up to `current`, in stream order, keeping
 * those `wanted` says the appservice is interested in: at most
 * MAX_EPHEMERAL_PER_TRANSACTION of them, and at most MAX_EPHEMERAL_SCAN looked
 * at. `upTo` is the last position looked at (every row has its own position,
 * so stopping after any row never splits one); `more` when rows remain.
 */
async function scanStream<T extends { stream_id: number }>(
  after: number,
  current: number,
  read: (after: number, upTo: number) => Promise<T[]>,
  wanted: (rows: T[]) => Promise<boolean[]>,
): Promise<{ rows: T[]; upTo: number; more: boolean }> {
  const chosen: T[] = [];
  let upTo = after;
  for (let scanned = 0; upTo < current && chosen.length < MAX_EPHEMERAL_PER_TRANSACTION && scanned < MAX_EPHEMERAL_SCAN; ) {
    const rows = await read(upTo, current);
    if (rows.length === 0) {
      upTo = current;
      break;
    }
    const keep = await wanted(rows);
    for (const [index, row] of rows.entries()) {
      scanned += 1;
      upTo = Number(row.stream_id);
      if (keep[index]) chosen.push(row);
      if (chosen.length === MAX_EPHEMERAL_PER_TRANSACTION) break;
    }
    if (rows.length < SCAN_BATCH && chosen.length < MAX_EPHEMERAL_PER_TRANSACTION) upTo = current;
  }
  return { rows: chosen, upTo, more: upTo < current };
}
