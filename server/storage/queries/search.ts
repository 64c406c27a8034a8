import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database, Queryable } from '../database.ts';
import type { EventRow } from '../tables/rooms.ts';

/** The searchable keys and the event type each lives in (spec: /search `keys`). */
export const SEARCH_KEYS = { 'content.body': 'm.room.message', 'content.name': 'm.room.name', 'content.topic': 'm.room.topic' } as const;
export type SearchKey = keyof typeof SEARCH_KEYS;

export interface SearchQuery {
  roomIds: readonly string[];
  /** A to_tsquery expression built from sanitised words only. */
  tsquery: string;
  keys: readonly SearchKey[];
  senders?: readonly string[];
  notSenders?: readonly string[];
  upTo: number;
  order: 'recent' | 'rank';
  /** recent: only events below this position; rank: skip this many. */
  before?: number;
  offset?: number;
  limit: number;
}

/**
 * Full-text matches in the given rooms ('simple' configuration: no stemming,
 * any language), newest first or by rank, through the GIN index
 * events_search_idx (migrations/0010-search-index.ts) over DOCUMENT.
 */
export async function searchEvents(db: Queryable, query: SearchQuery): Promise<Array<EventRow & { rank: number }>> {
  if (query.roomIds.length === 0 || query.keys.length === 0) return [];
  let select = matching(db, query).selectAll().select(sql<number>`ts_rank(${DOCUMENT}, to_tsquery('simple', ${query.tsquery}))`.as('rank'));
  if (query.order === 'recent') {
    if (query.before !== undefined) select = select.where('stream_ordering', '<', query.before);
    return select.orderBy('stream_ordering', 'desc').limit(query.limit).execute();
  }
  // Equal ranks oldest first, as Synapse answers (Complement's upgraded-room search expects it).
  return select.orderBy('rank', 'desc').orderBy('stream_ordering', 'asc').offset(query.offset ?? 0).limit(query.limit).execute();
}

/**
 * Where the newest matches lie (room and position only), at most CAP of them,
 * whatever page is asked for: the search's `count` is made of these once
 * history visibility has had its say.
 */
export async function matchPositions(db: Queryable, query: Omit<SearchQuery, 'order' | 'before' | 'offset' | 'limit'>, cap: number): Promise<Array<Pick<EventRow, 'room_id' | 'stream_ordering'>>> {
  if (query.roomIds.length === 0 || query.keys.length === 0) return [];
  return matching(db, query).select(['room_id', 'stream_ordering']).orderBy('stream_ordering', 'desc').limit(cap).execute();
}

/** Must stay identical to the expression of events_search_idx. */
const DOCUMENT = sql`to_tsvector('simple', coalesce(json->'content'->>'body', json->'content'->>'name', json->'content'->>'topic', ''))`;

function matching(db: Queryable, query: Omit<SearchQuery, 'order' | 'before' | 'offset' | 'limit'>) {
  let select = db
    .selectFrom('events')
    .where('room_id', 'in', [...query.roomIds])
    .where('stream_ordering', '<=', query.upTo)
    .where('redacted_because', 'is', null)
    .where((eb) => eb.or(query.keys.map((key) => keyMatch(eb, key))))
    .where(sql<SqlBool>`${DOCUMENT} @@ to_tsquery('simple', ${query.tsquery})`);
  if (query.senders) select = query.senders.length ? select.where('sender', 'in', [...query.senders]) : select.where(sql<SqlBool>`false`);
  if (query.notSenders?.length) select = select.where('sender', 'not in', [...query.notSenders]);
  return select;
}

function keyMatch(eb: ExpressionBuilder<Database, 'events'>, key: SearchKey): Expression<SqlBool> {
  const field = key.slice('content.'.length);
  return eb.and([eb('type', '=', SEARCH_KEYS[key]), sql<SqlBool>`json->'content' ? ${field}`]);
}
