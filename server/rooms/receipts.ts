import { sql } from 'kysely';
import type { AppContext } from '../app-context.ts';
import { writeAccountData } from '../accounts/account-data.ts';
import { forbidden, invalidParam, notFound } from '../errors.ts';
import { findEvent } from '../storage/queries/events.ts';
import { findReceipt, upsertReceipt } from '../storage/queries/receipts.ts';
import { findMembership, joinedMembers } from '../storage/queries/room-state.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { withTransaction } from '../storage/transaction.ts';
import { filterVisibleEvents } from './visibility.ts';

export const RECEIPT_TYPES = ['m.read', 'm.read.private', 'm.fully_read'] as const;
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

/** Spec: thread IDs are an event ID or `main`; bound their length like event IDs. */
const MAX_THREAD_ID_LENGTH = 255;

export interface ReadMarkers {
  'm.fully_read'?: string;
  'm.read'?: string;
  'm.read.private'?: string;
}

/**
 * POST /rooms/{roomId}/receipt/{receiptType}/{eventId}. The sender must be
 * joined and able to see the event. `m.read` goes to every member,
 * `m.read.private` only to the sender's own devices, `m.fully_read` is the
 * room's read marker (room account data). A receipt never moves back to an
 * older event (per thread).
 */
export async function sendReceipt(app: AppContext, userId: string, roomId: string, receiptType: ReceiptType, eventId: string, threadId: string | undefined): Promise<void> {
  if (threadId !== undefined) {
    if (receiptType === 'm.fully_read') throw invalidParam('thread_id cannot be given for m.fully_read');
    if (threadId.length === 0 || threadId.length > MAX_THREAD_ID_LENGTH) throw invalidParam('thread_id must be a non-empty string of at most 255 characters');
    if (threadId !== 'main' && !threadId.startsWith('$')) throw invalidParam('thread_id must be "main" or the event ID of a thread root');
  }
  const event = await receiptTarget(app, userId, roomId, eventId);
  if (threadId !== undefined && threadId !== 'main' && !(await isRelatedToThread(app, event, threadId))) throw invalidParam(`Event ${eventId} is not in thread ${threadId}`);
  if (receiptType === 'm.fully_read') return setFullyRead(app, userId, roomId, event);
  await storeReceipt(app, userId, roomId, receiptType, event, threadId ?? '');
}

/**
 * POST /rooms/{roomId}/read_markers: the read marker and, optionally, the
 * public and private read receipts. Every event is checked before anything
 * is written, so a refusal changes nothing.
 */
export async function setReadMarkers(app: AppContext, userId: string, roomId: string, markers: ReadMarkers): Promise<void> {
  const fullyRead = markers['m.fully_read'] === undefined ? undefined : await receiptTarget(app, userId, roomId, markers['m.fully_read']);
  const read = markers['m.read'] === undefined ? undefined : await receiptTarget(app, userId, roomId, markers['m.read']);
  const readPrivate = markers['m.read.private'] === undefined ? undefined : await receiptTarget(app, userId, roomId, markers['m.read.private']);
  if (fullyRead) await setFullyRead(app, userId, roomId, fullyRead);
  if (read) await storeReceipt(app, userId, roomId, 'm.read', read, '');
  if (readPrivate) await storeReceipt(app, userId, roomId, 'm.read.private', readPrivate, '');
}

/** The event a receipt points at: the sender must be joined, and the event of this room and visible to them. */
async function receiptTarget(app: AppContext, userId: string, roomId: string, eventId: string): Promise<EventRow> {
  const membership = await findMembership(app.db, roomId, userId);
  if (membership?.membership !== 'join') throw forbidden(`You are not in room ${roomId}`);
  const event = await findEvent(app.db, eventId);
  if (!event || event.room_id !== roomId || event.stream_ordering > app.roomEvents.currentPosition()) throw notFound(`No event ${eventId} in room ${roomId}`);
  if ((await filterVisibleEvents(app.db, userId, roomId, [event])).length === 0) throw notFound(`No event ${eventId} in room ${roomId}`);
  return event;
}

async function storeReceipt(app: AppContext, userId: string, roomId: string, receiptType: 'm.read' | 'm.read.private', event: EventRow, threadId: string): Promise<void> {
  await withTransaction(app.db, async (tx, hooks) => {
    // Serialise one user's receipts in a room, so two concurrent ones cannot move it backwards.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${roomId}), hashtext(${userId}))`.execute(tx);
    const key = { room_id: roomId, receipt_type: receiptType, user_id: userId, thread_id: threadId };
    const existing = await findReceipt(tx, key);
    if (existing && Number(existing.event_stream_ordering) >= event.stream_ordering) return;
    const { position, wake } = await app.receiptStream.allocate(tx, hooks);
    await upsertReceipt(tx, { ...key, event_id: event.event_id, event_stream_ordering: event.stream_ordering, ts: Date.now(), stream_id: position });
    if (receiptType === 'm.read.private') wake.add(userId);
    else for (const member of await joinedMembers(tx, roomId)) wake.add(member);
  });
}

/** The read marker is room account data the server writes: `m.fully_read` with the event ID. */
async function setFullyRead(app: AppContext, userId: string, roomId: string, event: EventRow): Promise<void> {
  await withTransaction(app.db, (tx, hooks) => writeAccountData(app, tx, hooks, { userId, roomId, type: 'm.fully_read' }, { event_id: event.event_id }));
}

/** How far a receipt's event may be from the thread through relations (a reaction to a reference to the root is two). */
const MAX_RELATION_HOPS = 3;

/**
 * Spec: 400 when "the event_id is not related to the thread_id". Related: the
 * root, a reply in the thread, or an event relating (reaction, reference, edit…)
 * to one of those, a few hops at most, in the same room (Complement marks a
 * thread read with a reaction to a reference to its root).
 */
async function isRelatedToThread(app: AppContext, event: EventRow, threadId: string): Promise<boolean> {
  let current: EventRow | undefined = event;
  for (let hop = 0; current && hop <= MAX_RELATION_HOPS; hop++) {
    if (threadOf(current) === threadId) return true;
    const target = relationTarget(current);
    if (target === undefined) return false;
    const next: EventRow | undefined = await findEvent(app.db, target);
    current = next?.room_id === event.room_id ? next : undefined;
  }
  return false;
}

function relationTarget(event: EventRow): string | undefined {
  const relation = (event.json.content as Record<string, unknown>)['m.relates_to'] as { event_id?: unknown } | undefined;
  return typeof relation?.event_id === 'string' ? relation.event_id : undefined;
}

/** The thread an event belongs to: its root's ID for the root and its replies, else undefined. */
function threadOf(event: EventRow): string | undefined {
  const relation = (event.json.content as Record<string, unknown>)['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
  if (relation?.rel_type === 'm.thread' && typeof relation.event_id === 'string') return relation.event_id;
  return event.event_id;
}
