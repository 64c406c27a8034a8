import { sql } from 'kysely';
import type { Queryable } from '../database.ts';
import type { SlidingSyncConnectionRow } from '../tables/sliding-sync.ts';

export async function findConnection(db: Queryable, userId: string, deviceId: string, connId: string): Promise<SlidingSyncConnectionRow | undefined> {
  return db.selectFrom('sliding_sync_connections').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId).where('conn_id', '=', connId).executeTakeFirst();
}

/**
 * Starts (or restarts) a connection at `pos` with one state, then keeps only
 * the device's `keep` most recently used connections.
 */
export async function startConnection(db: Queryable, row: { user_id: string; device_id: string; conn_id: string; pos: number; state: unknown; now: number }, keep: number): Promise<void> {
  const state = JSON.stringify(row.state);
  await db
    .insertInto('sliding_sync_connections')
    .values({ user_id: row.user_id, device_id: row.device_id, conn_id: row.conn_id, base_pos: row.pos, base_state: state, latest_pos: row.pos, latest_state: state, updated_ts: row.now })
    .onConflict((c) => c.columns(['user_id', 'device_id', 'conn_id']).doUpdateSet({ base_pos: row.pos, base_state: state, latest_pos: row.pos, latest_state: state, updated_ts: row.now }))
    .execute();
  await sql`
    DELETE FROM sliding_sync_connections WHERE user_id = ${row.user_id} AND device_id = ${row.device_id} AND conn_id NOT IN (
      SELECT conn_id FROM sliding_sync_connections WHERE user_id = ${row.user_id} AND device_id = ${row.device_id} ORDER BY updated_ts DESC LIMIT ${keep})`.execute(db);
}

/**
 * Moves a connection to a new latest state, if nobody else did since it was
 * read (`expectedLatest`); the state the request started from becomes the
 * base a retry may come back with. False when another request won.
 */
export async function advanceConnection(
  db: Queryable,
  key: { user_id: string; device_id: string; conn_id: string },
  expectedLatest: number,
  base: { pos: number; state: unknown },
  latest: { pos: number; state: unknown },
  now: number,
): Promise<boolean> {
  // The usual case continues from the latest state: it becomes the base where it lies, without sending it back.
  const baseState = base.pos === expectedLatest ? sql<unknown>`latest_state` : JSON.stringify(base.state);
  const result = await db
    .updateTable('sliding_sync_connections')
    .set({ base_pos: base.pos, base_state: baseState, latest_pos: latest.pos, latest_state: JSON.stringify(latest.state), updated_ts: now })
    .where('user_id', '=', key.user_id)
    .where('device_id', '=', key.device_id)
    .where('conn_id', '=', key.conn_id)
    .where('latest_pos', '=', expectedLatest)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteConnection(db: Queryable, key: { user_id: string; device_id: string; conn_id: string }): Promise<void> {
  await db.deleteFrom('sliding_sync_connections').where('user_id', '=', key.user_id).where('device_id', '=', key.device_id).where('conn_id', '=', key.conn_id).execute();
}

/** A user's membership rows with the sender of each membership event (who kicked, banned or invited them). */
export async function membershipsWithSender(db: Queryable, userId: string): Promise<Array<{ room_id: string; membership: string; event_id: string; stream_ordering: number; forgotten: boolean; sender: string }>> {
  return db
    .selectFrom('room_memberships as m')
    .innerJoin('events as e', 'e.event_id', 'm.event_id')
    .select(['m.room_id', 'm.membership', 'm.event_id', 'm.stream_ordering', 'm.forgotten', 'e.sender'])
    .where('m.user_id', '=', userId)
    .execute();
}

/** Per room, the position of its newest event of one of `types` at or before `upTo` (one index probe per room). */
export async function latestEventPositions(db: Queryable, roomIds: readonly string[], types: readonly string[], upTo: number): Promise<Map<string, number>> {
  if (roomIds.length === 0) return new Map();
  const { rows } = await sql<{ room_id: string; position: number | null }>`
    SELECT r.room_id, (SELECT e.stream_ordering FROM events e
      WHERE e.room_id = r.room_id AND e.stream_ordering <= ${upTo} AND e.type = ANY(${[...types]}::text[])
      ORDER BY e.stream_ordering DESC LIMIT 1) AS position
    FROM unnest(${[...roomIds]}::text[]) AS r(room_id)`.execute(db);
  return new Map(rows.filter((row) => row.position !== null).map((row) => [row.room_id, Number(row.position)]));
}

/** Per room, the `type` of its m.room.create event (null for an ordinary room). */
export async function roomTypesOf(db: Queryable, roomIds: readonly string[]): Promise<Map<string, string | null>> {
  if (roomIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('current_state as cs')
    .innerJoin('events as e', 'e.event_id', 'cs.event_id')
    .select(['cs.room_id', sql<string | null>`e.json->'content'->>'type'`.as('room_type')])
    .where('cs.room_id', 'in', [...roomIds])
    .where('cs.type', '=', 'm.room.create')
    .where('cs.state_key', '=', '')
    .execute();
  return new Map(rows.map((row) => [row.room_id, row.room_type]));
}

/** Rooms named by a current, non-empty m.space.child event of any of `spaceIds`. */
export async function spaceChildrenOf(db: Queryable, spaceIds: readonly string[]): Promise<Set<string>> {
  if (spaceIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('current_state as cs')
    .innerJoin('events as e', 'e.event_id', 'cs.event_id')
    .select('cs.state_key')
    .where('cs.room_id', 'in', [...spaceIds])
    .where('cs.type', '=', 'm.space.child')
    .where(sql<boolean>`jsonb_typeof(e.json->'content'->'via') = 'array'`)
    .execute();
  return new Set(rows.map((row) => row.state_key));
}

/** A user's `m.tag` room account data: room -> tag names. */
export async function roomTagNames(db: Queryable, userId: string): Promise<Map<string, string[]>> {
  const rows = await db.selectFrom('account_data').select(['room_id', 'content']).where('user_id', '=', userId).where('type', '=', 'm.tag').execute();
  return new Map(rows.map((row) => [row.room_id, Object.keys(((row.content as { tags?: unknown }).tags ?? {}) as Record<string, unknown>)]));
}

/** Of `roomIds`, those where `userId` was joined at some point (from the room's state history). */
export async function roomsEverJoined(db: Queryable, userId: string, roomIds: readonly string[]): Promise<Set<string>> {
  if (roomIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('state_events as s')
    .innerJoin('events as e', 'e.event_id', 's.event_id')
    .select('s.room_id')
    .distinct()
    .where('s.room_id', 'in', [...roomIds])
    .where('s.type', '=', 'm.room.member')
    .where('s.state_key', '=', userId)
    .where(sql<boolean>`e.json->'content'->>'membership' = 'join'`)
    .execute();
  return new Set(rows.map((row) => row.room_id));
}
