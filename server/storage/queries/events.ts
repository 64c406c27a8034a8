import { sql, type ExpressionBuilder } from 'kysely';
import type { Database, Queryable, Tx } from '../database.ts';
import type { EventRow, NewEventRow } from '../tables/rooms.ts';
import type { PersistentEvent } from '../../rooms/event.ts';

export interface TxnKey {
  user_id: string;
  device_id: string;
  scope: string;
  txn_id: string;
}

/**
 * Inserts an event at the next room-event stream position (taken from the
 * sequence by the insert itself) and, for a client send, its transaction-ID
 * row, in one statement. Returns the position.
 *
 * With `head`, the same statement also moves the room's head to this event
 * and returns the room's joined members as they were before it (the caller
 * adds the target of a membership event): the last append of a transaction
 * needs no statement of its own for that.
 */
export async function insertEventAtNextPosition(
  tx: Tx,
  row: Omit<NewEventRow, 'stream_ordering'>,
  txn: TxnKey | undefined,
  now: number,
  head?: { roomId: string; depth: number },
): Promise<{ position: number; joinedMembers: string[] | undefined }> {
  const insert = tx
    .insertInto('events')
    .values({ ...row, stream_ordering: sql<number>`nextval('room_event_stream_seq')`, json: JSON.stringify(row.json) as unknown as PersistentEvent })
    .returning('stream_ordering');
  if (!txn && !head) return { position: (await insert.executeTakeFirstOrThrow()).stream_ordering, joinedMembers: undefined };
  const txnInsert = txn
    ? sql`, txn AS (INSERT INTO event_txns (user_id, device_id, scope, txn_id, event_id, created_ts)
        SELECT ${txn.user_id}, ${txn.device_id}, ${txn.scope}, ${txn.txn_id}, ${row.event_id}, ${now} FROM inserted)`
    : sql``;
  const headUpdate = head ? sql`, head AS (UPDATE rooms SET latest_event_id = ${row.event_id}, latest_depth = ${head.depth} WHERE room_id = ${head.roomId})` : sql``;
  const members = head
    ? sql<string[]>`(SELECT coalesce(array_agg(user_id), '{}') FROM room_memberships WHERE room_id = ${head.roomId} AND membership = 'join')`
    : sql<null>`NULL`;
  // Data-modifying CTEs run to completion whether or not the final SELECT reads them.
  const { rows } = await sql<{ stream_ordering: number; members: string[] | null }>`
    WITH inserted AS (${insert}) ${txnInsert} ${headUpdate}
    SELECT (SELECT stream_ordering FROM inserted) AS stream_ordering, ${members} AS members`.execute(tx);
  return { position: Number(rows[0].stream_ordering), joinedMembers: rows[0].members ?? undefined };
}

export async function findEvent(db: Queryable, eventId: string): Promise<EventRow | undefined> {
  return db.selectFrom('events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
}

export async function findEvents(db: Queryable, eventIds: readonly string[]): Promise<EventRow[]> {
  if (eventIds.length === 0) return [];
  return db.selectFrom('events').selectAll().where('event_id', 'in', [...eventIds]).execute();
}

/** Replaces an event's JSON with its redacted form, for good. */
export async function markRedacted(tx: Tx, eventId: string, redactedJson: PersistentEvent, redactionEventId: string): Promise<void> {
  await tx
    .updateTable('events')
    .set({ json: JSON.stringify(redactedJson) as unknown as PersistentEvent, redacted_because: redactionEventId })
    .where('event_id', '=', eventId)
    .execute();
}

export interface EventRange {
  roomId: string;
  /** Exclusive lower bound. */
  after: number;
  /** Inclusive upper bound. */
  upTo: number;
  direction: 'forwards' | 'backwards';
  limit: number;
  types?: readonly string[];
  notTypes?: readonly string[];
  senders?: readonly string[];
  notSenders?: readonly string[];
  /** true: only events whose content has a `url`; false: only those without. */
  containsUrl?: boolean;
}

/** A room's events with positions in (after, upTo], oldest or newest first; uses (room_id, stream_ordering). */
export async function eventsInRange(db: Queryable, range: EventRange): Promise<EventRow[]> {
  let query = db
    .selectFrom('events')
    .selectAll()
    .where('room_id', '=', range.roomId)
    .where('stream_ordering', '>', range.after)
    .where('stream_ordering', '<=', range.upTo);
  // An empty `types` list matches nothing (spec); an empty `not_types` excludes nothing.
  if (range.types) query = query.where((eb) => eb.or(range.types!.map((pattern) => typeMatch(eb, pattern))));
  if (range.notTypes?.length) query = query.where((eb) => eb.not(eb.or(range.notTypes!.map((pattern) => typeMatch(eb, pattern)))));
  if (range.senders) query = range.senders.length ? query.where('sender', 'in', [...range.senders]) : query.where(sql<boolean>`false`);
  if (range.notSenders?.length) query = query.where('sender', 'not in', [...range.notSenders]);
  if (range.containsUrl !== undefined) query = query.where(sql<boolean>`(json->'content' ? 'url') = ${range.containsUrl}`);
  return query
    .orderBy('stream_ordering', range.direction === 'forwards' ? 'asc' : 'desc')
    .limit(range.limit)
    .execute();
}

/** A filter type pattern: exact, or with `*` wildcards as a LIKE pattern (other LIKE metacharacters escaped). */
function typeMatch(eb: ExpressionBuilder<Database, 'events'>, pattern: string) {
  if (!pattern.includes('*')) return eb('type', '=', pattern);
  return eb('type', 'like', pattern.replace(/[\\%_]/g, '\\$&').replaceAll('*', '%'));
}

/** Of `roomIds`, those with an event in (after, upTo]. */
export async function roomsWithEventsBetween(db: Queryable, roomIds: readonly string[], after: number, upTo: number): Promise<string[]> {
  if (roomIds.length === 0 || upTo <= after) return [];
  const rows = await db
    .selectFrom('events')
    .select('room_id')
    .distinct()
    .where('room_id', 'in', [...roomIds])
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .execute();
  return rows.map((row) => row.room_id);
}

export async function findTxnEvent(db: Queryable, key: TxnKey): Promise<string | undefined> {
  const row = await db
    .selectFrom('event_txns')
    .select('event_id')
    .where('user_id', '=', key.user_id)
    .where('device_id', '=', key.device_id)
    .where('scope', '=', key.scope)
    .where('txn_id', '=', key.txn_id)
    .executeTakeFirst();
  return row?.event_id;
}

