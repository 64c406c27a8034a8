import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { EventRow, MembershipRow } from '../tables/rooms.ts';
import type { PersistentEvent } from '../../rooms/event.ts';

export interface StateKeyPair {
  type: string;
  state_key: string;
}

/** Records a state event: one history row, and the current-state pointer. */
export async function recordStateEvent(tx: Tx, row: StateKeyPair & { room_id: string; event_id: string; stream_ordering: number }): Promise<void> {
  await tx.insertInto('state_events').values(row).execute();
  await tx
    .insertInto('current_state')
    .values({ room_id: row.room_id, type: row.type, state_key: row.state_key, event_id: row.event_id })
    .onConflict((c) => c.columns(['room_id', 'type', 'state_key']).doUpdateSet({ event_id: row.event_id }))
    .execute();
}

export async function recordMembership(tx: Tx, row: { room_id: string; user_id: string; membership: string; event_id: string; stream_ordering: number }): Promise<void> {
  await tx
    .insertInto('room_memberships')
    .values({ ...row, forgotten: false })
    .onConflict((c) =>
      c.columns(['room_id', 'user_id']).doUpdateSet({
        membership: row.membership,
        event_id: row.event_id,
        stream_ordering: row.stream_ordering,
        forgotten: false,
      }),
    )
    .execute();
}

/**
 * What appending an event reads, in one round trip: the event a replayed
 * transaction ID already made (if any), and the current state events for the
 * given (type, state_key) pairs.
 */
export async function appendInputs(
  tx: Tx,
  roomId: string,
  pairs: readonly StateKeyPair[],
  txn: { user_id: string; device_id: string; scope: string; txn_id: string } | undefined,
): Promise<{ txnEventId: string | undefined; stateEvents: PersistentEvent[] }> {
  const txnLookup = txn
    ? sql<string | null>`(SELECT event_id FROM event_txns WHERE user_id = ${txn.user_id} AND device_id = ${txn.device_id} AND scope = ${txn.scope} AND txn_id = ${txn.txn_id})`
    : sql<null>`NULL`;
  const matches = pairs.length ? sql.join(pairs.map((pair) => sql`(cs.type = ${pair.type} AND cs.state_key = ${pair.state_key})`), sql` OR `) : sql`FALSE`;
  const { rows } = await sql<{ txn_event_id: string | null; state: PersistentEvent[] }>`
    SELECT ${txnLookup} AS txn_event_id,
      (SELECT coalesce(json_agg(e.json), '[]'::json) FROM current_state cs JOIN events e ON e.event_id = cs.event_id
       WHERE cs.room_id = ${roomId} AND (${matches})) AS state`.execute(tx);
  return { txnEventId: rows[0].txn_event_id ?? undefined, stateEvents: rows[0].state };
}

/** Current state events of a room, all of it or only the given (type, state_key) pairs. */
export async function currentStateEvents(db: Queryable, roomId: string, only?: readonly StateKeyPair[]): Promise<EventRow[]> {
  if (only && only.length === 0) return [];
  let query = db
    .selectFrom('current_state as cs')
    .innerJoin('events as e', 'e.event_id', 'cs.event_id')
    .selectAll('e')
    .where('cs.room_id', '=', roomId);
  if (only) query = query.where((eb) => eb.or(only.map((pair) => eb.and([eb('cs.type', '=', pair.type), eb('cs.state_key', '=', pair.state_key)]))));
  return query.execute();
}

/**
 * State at a position: for each (type, state_key) the latest history row at or
 * before it. Optionally restricted to some types or pairs. Cost grows with the
 * room's state history, not with its message history.
 */
export async function stateEventsAt(
  db: Queryable,
  roomId: string,
  position: number,
  filter: { types?: readonly string[]; pairs?: readonly StateKeyPair[] } = {},
): Promise<EventRow[]> {
  if (filter.pairs && filter.pairs.length === 0) return [];
  let latest = db
    .selectFrom('state_events')
    .select(['type', 'state_key', 'event_id'])
    .distinctOn(['type', 'state_key'])
    .where('room_id', '=', roomId)
    .where('stream_ordering', '<=', position);
  if (filter.types) latest = latest.where('type', 'in', [...filter.types]);
  if (filter.pairs) {
    const pairs = filter.pairs;
    latest = latest.where((eb) => eb.or(pairs.map((pair) => eb.and([eb('type', '=', pair.type), eb('state_key', '=', pair.state_key)]))));
  }
  const ranked = latest.orderBy('type').orderBy('state_key').orderBy('stream_ordering', 'desc');
  return db.selectFrom(ranked.as('s')).innerJoin('events as e', 'e.event_id', 's.event_id').selectAll('e').execute();
}

/** The (type, state_key) pairs whose state changed in (after, upTo]. */
export async function stateChangedBetween(db: Queryable, roomId: string, after: number, upTo: number): Promise<StateKeyPair[]> {
  if (upTo <= after) return [];
  return db
    .selectFrom('state_events')
    .select(['type', 'state_key'])
    .distinct()
    .where('room_id', '=', roomId)
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .execute();
}

/** Every history row of the given pairs up to a position, oldest first: for visibility checks over many events. */
export async function stateHistory(db: Queryable, roomId: string, pairs: readonly StateKeyPair[], upTo: number): Promise<Array<StateKeyPair & { event_id: string; stream_ordering: number; content: unknown }>> {
  if (pairs.length === 0) return [];
  return db
    .selectFrom('state_events as s')
    .innerJoin('events as e', 'e.event_id', 's.event_id')
    .select(['s.type', 's.state_key', 's.event_id', 's.stream_ordering', sql<unknown>`e.json->'content'`.as('content')])
    .where('s.room_id', '=', roomId)
    .where('s.stream_ordering', '<=', upTo)
    .where((eb) => eb.or(pairs.map((pair) => eb.and([eb('s.type', '=', pair.type), eb('s.state_key', '=', pair.state_key)]))))
    .orderBy('s.stream_ordering')
    .execute();
}

export async function findMembership(db: Queryable, roomId: string, userId: string): Promise<MembershipRow | undefined> {
  return db.selectFrom('room_memberships').selectAll().where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
}

/** A user's current memberships, optionally only some kinds. */
export async function membershipsOfUser(db: Queryable, userId: string, memberships?: readonly string[]): Promise<MembershipRow[]> {
  let query = db.selectFrom('room_memberships').selectAll().where('user_id', '=', userId);
  if (memberships) query = query.where('membership', 'in', [...memberships]);
  return query.execute();
}

/** A user's membership rows that changed in (after, upTo]. */
export async function membershipsChangedBetween(db: Queryable, userId: string, after: number, upTo: number): Promise<MembershipRow[]> {
  return db
    .selectFrom('room_memberships')
    .selectAll()
    .where('user_id', '=', userId)
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .execute();
}

export async function joinedMembers(db: Queryable, roomId: string): Promise<string[]> {
  const rows = await db.selectFrom('room_memberships').select('user_id').where('room_id', '=', roomId).where('membership', '=', 'join').execute();
  return rows.map((row) => row.user_id);
}

export async function setForgotten(db: Queryable, roomId: string, userId: string): Promise<void> {
  await db.updateTable('room_memberships').set({ forgotten: true }).where('room_id', '=', roomId).where('user_id', '=', userId).execute();
}

/** For state events, the state event each replaced (same room, type and state_key, the latest before it). */
export async function replacedStateOf(db: Queryable, eventIds: readonly string[]): Promise<Map<string, { event_id: string; content: Record<string, unknown>; sender: string }>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('state_events as cur')
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('state_events as p')
          .select('p.event_id')
          .whereRef('p.room_id', '=', 'cur.room_id')
          .whereRef('p.type', '=', 'cur.type')
          .whereRef('p.state_key', '=', 'cur.state_key')
          .whereRef('p.stream_ordering', '<', 'cur.stream_ordering')
          .orderBy('p.stream_ordering', 'desc')
          .limit(1)
          .as('prev'),
      (join) => join.onTrue(),
    )
    .innerJoin('events as e', 'e.event_id', 'prev.event_id')
    .select(['cur.event_id as for_event', 'prev.event_id', 'e.sender', sql<Record<string, unknown>>`e.json->'content'`.as('content')])
    .where('cur.event_id', 'in', [...eventIds])
    .execute();
  return new Map(rows.map((row) => [row.for_event, { event_id: row.event_id, content: row.content, sender: row.sender }]));
}
