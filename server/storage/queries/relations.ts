import { sql } from 'kysely';
import type { Queryable } from '../database.ts';
import type { EventRow } from '../tables/rooms.ts';

/**
 * Relations read from `content."m.relates_to"` of stored events. The
 * expressions must stay exactly as the partial indexes of migration
 * 0005-relations-roomapi declare them, or Postgres will not use the indexes.
 */
const RELATES_TO = sql<string>`(json->'content'->'m.relates_to'->>'event_id')`;
const REL_TYPE = sql<string>`(json->'content'->'m.relates_to'->>'rel_type')`;

export interface ChildrenQuery {
  roomId: string;
  parentId: string;
  relType?: string;
  eventType?: string;
  /** Exclusive lower and inclusive upper bound on positions. */
  after: number;
  upTo: number;
  direction: 'forwards' | 'backwards';
  limit: number;
  /** Also follow relations of relations, this many levels deep in all (1: direct children only). */
  depth: number;
}

/** Events relating to a parent (directly, or within `depth` levels), optionally of one rel_type and event type. */
export async function relatedEvents(db: Queryable, query: ChildrenQuery): Promise<EventRow[]> {
  let select = db
    .selectFrom('events')
    .selectAll()
    .where('room_id', '=', query.roomId)
    .where('stream_ordering', '>', query.after)
    .where('stream_ordering', '<=', query.upTo);
  if (query.depth <= 1) {
    select = select.where(RELATES_TO, '=', query.parentId);
  } else {
    // Bounded walk down the relation tree; UNION drops repeats, so a cycle cannot loop.
    select = select.where(
      'event_id',
      'in',
      sql<string>`(WITH RECURSIVE related(event_id, depth) AS (
        SELECT event_id, 1 FROM events WHERE ${RELATES_TO} = ${query.parentId} AND room_id = ${query.roomId}
        UNION
        SELECT e.event_id, r.depth + 1 FROM related r
          JOIN events e ON (e.json->'content'->'m.relates_to'->>'event_id') = r.event_id
          WHERE r.depth < ${query.depth} AND e.room_id = ${query.roomId} AND (e.json->'content'->'m.relates_to'->>'event_id') IS NOT NULL
      ) SELECT event_id FROM related)`,
    );
  }
  if (query.relType !== undefined) select = select.where(REL_TYPE, '=', query.relType);
  if (query.eventType !== undefined) select = select.where('type', '=', query.eventType);
  return select.orderBy('stream_ordering', query.direction === 'forwards' ? 'asc' : 'desc').limit(query.limit).execute();
}

/** What bundling needs of a child event, without its JSON. */
export interface ChildSummary {
  event_id: string;
  room_id: string;
  parent_id: string;
  rel_type: string;
  sender: string;
  type: string;
  state_key: string | null;
  origin_server_ts: number;
  stream_ordering: number;
}

/** Children of many parents at once, of the given rel_types (one index scan per parent). */
export async function childrenOf(db: Queryable, parentIds: readonly string[], relTypes: readonly string[]): Promise<ChildSummary[]> {
  if (parentIds.length === 0 || relTypes.length === 0) return [];
  return db
    .selectFrom('events')
    .select(['event_id', 'room_id', 'sender', 'type', 'state_key', 'origin_server_ts', 'stream_ordering', RELATES_TO.as('parent_id'), REL_TYPE.as('rel_type')])
    .where(RELATES_TO, 'in', [...parentIds])
    .where(REL_TYPE, 'in', [...relTypes])
    .orderBy('stream_ordering')
    .execute();
}

/**
 * Thread roots of a room, newest activity first: their latest reply among those
 * at or before `upTo` (what readers may see) must be at or before `latestAtMost`
 * (the pagination point), so a page never repeats a thread.
 */
export async function threadRootsByActivity(
  db: Queryable,
  page: { roomId: string; upTo: number; latestAtMost: number; limit: number; participant?: string },
): Promise<Array<{ root_id: string; latest: number }>> {
  const { roomId, upTo, latestAtMost, limit, participant } = page;
  // Joined to the root so that only roots stored in this room count, and the root's sender is at hand.
  let query = db
    .selectFrom('events as reply')
    .innerJoin('events as root', (join) => join.on(sql<boolean>`root.event_id = (reply.json->'content'->'m.relates_to'->>'event_id')`).onRef('root.room_id', '=', 'reply.room_id'))
    .select(['root.event_id as root_id', sql<number>`max(reply.stream_ordering)`.as('latest')])
    .where('reply.room_id', '=', roomId)
    .where(sql<string>`(reply.json->'content'->'m.relates_to'->>'rel_type')`, '=', 'm.thread')
    .where('reply.stream_ordering', '<=', upTo)
    .groupBy(['root.event_id', 'root.sender'])
    .having(sql<number>`max(reply.stream_ordering)`, '<=', latestAtMost);
  if (participant !== undefined) {
    // Participated: sent the root or a reply (spec: server-side aggregation of m.thread).
    query = query.having((eb) => eb.or([eb('root.sender', '=', participant), eb.fn.agg<boolean>('bool_or', [sql<boolean>`reply.sender = ${participant}`])]));
  }
  const rows = await query.orderBy(sql`max(reply.stream_ordering)`, 'desc').limit(limit).execute();
  return rows.map((row) => ({ root_id: row.root_id, latest: Number(row.latest) }));
}
