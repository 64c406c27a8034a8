import type { AppContext } from '../app-context.ts';
import { invalidParam } from '../errors.ts';
import { eventsInRange } from '../storage/queries/events.ts';
import { membershipsOfUser, stateEventsAt } from '../storage/queries/room-state.ts';
import { matchPositions, searchEvents, SEARCH_KEYS, type SearchKey } from '../storage/queries/search.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { formatRoomPosition } from '../sync/stream-token.ts';
import { toClientEvents, type ClientEvent, type Viewer } from './client-event.ts';
import { filterAllowsRoom, filterAllowsType, type RoomEventFilter } from './room-event-filter.ts';
import { roomState } from './room-read.ts';
import { filterVisibleEvents } from './visibility.ts';

/** Results per page, words per query, and the bounds on context around each result. */
export const SEARCH_PAGE_SIZE = 10;
const MAX_SEARCH_WORDS = 20;
export const DEFAULT_CONTEXT_LIMIT = 5;
export const MAX_CONTEXT_LIMIT = 20;
/** Matches looked at for `count` (the spec's count is approximate): beyond this many it stops growing. */
export const MAX_COUNTED_MATCHES = 1000;

export interface SearchRequest {
  searchTerm: string;
  keys?: SearchKey[];
  filter: RoomEventFilter;
  orderBy: 'recent' | 'rank';
  eventContext?: { before_limit?: number; after_limit?: number; include_profile?: boolean };
  includeState: boolean;
  groupBy: Array<'room_id' | 'sender'>;
  nextBatch?: string;
}

/**
 * POST /search, category `room_events`: words of the term (each a prefix,
 * all required) in the bodies, names and topics of the rooms the caller is in
 * or has left without forgetting, filtered by history visibility like every
 * other read. Encrypted rooms' messages are ciphertext, so they never match.
 * Pages: `r<position>` (newest first) or `k<offset>` (by rank). `count` is
 * the matches the caller may see among the newest MAX_COUNTED_MATCHES, so it
 * never reveals how much of a room's hidden history matches.
 */
export async function searchRoomEvents(app: AppContext, viewer: Viewer, request: SearchRequest) {
  const words = (request.searchTerm.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, MAX_SEARCH_WORDS);
  const keys = (request.keys ?? (Object.keys(SEARCH_KEYS) as SearchKey[])).filter((key) => filterAllowsType(request.filter, SEARCH_KEYS[key]));
  const page = parseNextBatch(request.nextBatch, request.orderBy);
  const rooms = (await membershipsOfUser(app.db, viewer.userId, ['join', 'leave', 'ban'])).filter((row) => !row.forgotten && filterAllowsRoom(request.filter, row.room_id)).map((row) => row.room_id);
  const query = {
    roomIds: words.length > 0 ? rooms : [],
    tsquery: words.map((word) => `${word}:*`).join(' & '),
    keys,
    senders: request.filter.senders,
    notSenders: request.filter.not_senders,
    upTo: app.roomEvents.currentPosition(),
    order: request.orderBy,
    ...page,
    limit: SEARCH_PAGE_SIZE,
  };
  const rows = await searchEvents(app.db, query);
  const count = await visibleMatchCount(app, viewer.userId, query);
  const visible = await visibleInOrder(app, viewer.userId, rows);
  const events = await toClientEvents(app.db, visible, viewer);
  const results = [];
  for (const [i, row] of visible.entries()) {
    const context = request.eventContext ? await contextOf(app, viewer, row, request.eventContext) : undefined;
    results.push({ rank: row.rank, result: events[i], ...(context ? { context } : {}) });
  }
  const last = rows.at(-1);
  const nextBatch = rows.length < SEARCH_PAGE_SIZE || !last ? undefined : request.orderBy === 'recent' ? `r${last.stream_ordering}` : `k${(page.offset ?? 0) + SEARCH_PAGE_SIZE}`;
  return {
    search_categories: {
      room_events: {
        count,
        highlights: words,
        results,
        ...(nextBatch ? { next_batch: nextBatch } : {}),
        ...(request.groupBy.length > 0 ? { groups: groupsOf(request.groupBy, visible, nextBatch) } : {}),
        ...(request.includeState ? { state: await stateOfRooms(app, viewer, visible) } : {}),
      },
    },
  };
}

function parseNextBatch(token: string | undefined, order: 'recent' | 'rank'): { before?: number; offset?: number } {
  if (token === undefined) return {};
  const match = /^([rk])(\d{1,15})$/.exec(token);
  if (!match || (match[1] === 'r') !== (order === 'recent')) throw invalidParam(`next_batch is not a token from a search with this order_by: ${JSON.stringify(token.slice(0, 64))}`);
  return match[1] === 'r' ? { before: Number(match[2]) } : { offset: Number(match[2]) };
}

/** How many matches, on every page, the reader may see (approximate past MAX_COUNTED_MATCHES). */
async function visibleMatchCount(app: AppContext, userId: string, query: Parameters<typeof matchPositions>[1]): Promise<number> {
  return (await visibleInOrder(app, userId, await matchPositions(app.db, query, MAX_COUNTED_MATCHES))).length;
}

/** The rows the reader may see, in their original order (visibility is decided per room). */
async function visibleInOrder<T extends Pick<EventRow, 'room_id' | 'stream_ordering'>>(app: AppContext, userId: string, rows: readonly T[]): Promise<T[]> {
  const allowed = new Set<T>();
  for (const roomId of new Set(rows.map((row) => row.room_id))) {
    for (const row of await filterVisibleEvents(app.db, userId, roomId, rows.filter((candidate) => candidate.room_id === roomId))) allowed.add(row);
  }
  return rows.filter((row) => allowed.has(row));
}

async function contextOf(app: AppContext, viewer: Viewer, row: EventRow, options: NonNullable<SearchRequest['eventContext']>) {
  const roomId = row.room_id;
  const before = await eventsInRange(app.db, { roomId, after: 0, upTo: row.stream_ordering - 1, direction: 'backwards', limit: options.before_limit ?? DEFAULT_CONTEXT_LIMIT });
  const after = await eventsInRange(app.db, { roomId, after: row.stream_ordering, upTo: app.roomEvents.currentPosition(), direction: 'forwards', limit: options.after_limit ?? DEFAULT_CONTEXT_LIMIT });
  const visibleBefore = await filterVisibleEvents(app.db, viewer.userId, roomId, before);
  const visibleAfter = await filterVisibleEvents(app.db, viewer.userId, roomId, after);
  const context: Record<string, unknown> = {
    start: formatRoomPosition((before.at(-1)?.stream_ordering ?? row.stream_ordering) - 1),
    end: formatRoomPosition(after.at(-1)?.stream_ordering ?? row.stream_ordering),
    events_before: await toClientEvents(app.db, visibleBefore, viewer),
    events_after: await toClientEvents(app.db, visibleAfter, viewer),
  };
  if (options.include_profile) context.profile_info = await profilesAt(app, roomId, row.stream_ordering, [row, ...visibleBefore, ...visibleAfter]);
  return context;
}

/** Spec: the historic profile (from their member event at the result) of each sender shown. */
async function profilesAt(app: AppContext, roomId: string, position: number, rows: readonly EventRow[]) {
  const senders = [...new Set(rows.map((row) => row.sender))];
  const members = await stateEventsAt(app.db, roomId, position, { pairs: senders.map((sender) => ({ type: 'm.room.member', state_key: sender })) });
  const profiles: Record<string, { displayname?: string; avatar_url?: string }> = {};
  for (const member of members) {
    const { displayname, avatar_url: avatarUrl } = member.json.content;
    profiles[member.state_key ?? ''] = { ...(typeof displayname === 'string' ? { displayname } : {}), ...(typeof avatarUrl === 'string' ? { avatar_url: avatarUrl } : {}) };
  }
  return profiles;
}

function groupsOf(groupBy: SearchRequest['groupBy'], rows: readonly EventRow[], nextBatch: string | undefined) {
  const groups: Record<string, Record<string, { results: string[]; order: number; next_batch?: string }>> = {};
  for (const key of groupBy) {
    const byValue: Record<string, { results: string[]; order: number; next_batch?: string }> = {};
    for (const row of rows) {
      const value = key === 'room_id' ? row.room_id : row.sender;
      byValue[value] ??= { results: [], order: Object.keys(byValue).length + 1, ...(nextBatch ? { next_batch: nextBatch } : {}) };
      byValue[value].results.push(row.event_id);
    }
    groups[key] = byValue;
  }
  return groups;
}

async function stateOfRooms(app: AppContext, viewer: Viewer, rows: readonly EventRow[]): Promise<Record<string, ClientEvent[]>> {
  const state: Record<string, ClientEvent[]> = {};
  for (const roomId of new Set(rows.map((row) => row.room_id))) state[roomId] = await roomState(app, viewer, roomId);
  return state;
}
