import type { AppContext } from '../app-context.ts';
import { forbidden } from '../errors.ts';
import { eventsInRange, findEvent } from '../storage/queries/events.ts';
import { stateEventsAt } from '../storage/queries/room-state.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { formatRoomPosition } from '../sync/stream-token.ts';
import { toClientEvents, type ClientEvent, type Viewer } from './client-event.ts';
import { filterAllowsRoom, filterAllowsType, rangeFilterOf, type RoomEventFilter } from './room-event-filter.ts';
import { roomEvent } from './room-read.ts';
import { filterVisibleEvents, readLimitOf, type ReadLimit } from './visibility.ts';
import { ignoredUsersOf } from '../accounts/account-data.ts';

/** Spec default for /messages `limit`, and our cap on it. */
export const DEFAULT_MESSAGES_LIMIT = 10;
export const MAX_MESSAGES_LIMIT = 1000;

export interface MessagesQuery {
  /** Position to start from; undefined: the newest (backwards) or oldest (forwards) end. */
  from: number | undefined;
  to: number | undefined;
  direction: 'b' | 'f';
  limit: number;
  filter: RoomEventFilter;
}

/**
 * GET /rooms/{roomId}/messages: a page of the timeline, filtered by history
 * visibility. A user who left reads only up to their leave. Positions are
 * stream positions; a token means "after the event at that position". With
 * `lazy_load_members`, `state` carries the member events of the chunk's senders.
 */
export async function paginateRoom(app: AppContext, viewer: Viewer, roomId: string, query: MessagesQuery): Promise<{ chunk: ClientEvent[]; start: string; end?: string; state?: ClientEvent[] }> {
  // An unknown room answers as a room one is not in does (403), revealing nothing.
  if (!(await findRoom(app.db, roomId))) throw forbidden(`You are not a member of room ${roomId}`);
  const limit = await requireReadableRoom(app, viewer.userId, roomId);
  const newest = app.roomEvents.currentPosition();
  const backwards = query.direction === 'b';
  const start = query.from ?? (backwards ? newest : 0);
  if (!filterAllowsRoom(query.filter, roomId)) return { chunk: [], start: formatRoomPosition(start) };
  const pageSize = Math.min(query.limit, query.filter.limit ?? query.limit);
  const bounds = backwards
    ? { after: query.to ?? 0, upTo: Math.min(start, newest), direction: 'backwards' as const }
    : { after: start, upTo: Math.min(query.to ?? newest, newest), direction: 'forwards' as const };
  const rows = await eventsInRange(app.db, { roomId, ...bounds, limit: pageSize, ...rangeFilterOf(query.filter) });
  const ignored = await ignoredUsersOf(app.db, viewer.userId);
  // m.ignored_user_list: ignored users' messages are left out; their state changes still apply.
  const visible = (await filterVisibleEvents(app.db, viewer.userId, roomId, rows)).filter((row) => row.state_key !== null || !ignored.has(row.sender));
  const chunk = await toClientEvents(app.db, visible, viewer);
  // `end` is omitted when there is nothing further in this direction.
  const last = rows.at(-1);
  const end = rows.length < pageSize || !last ? undefined : formatRoomPosition(backwards ? last.stream_ordering - 1 : last.stream_ordering);
  const state = query.filter.lazy_load_members ? await memberStateOfSenders(app, viewer, roomId, visible, limit.upTo) : undefined;
  return { chunk, start: formatRoomPosition(start), ...(end ? { end } : {}), ...(state ? { state } : {}) };
}

/**
 * A room whose history the user may page through: members and former members
 * (until they forget it), or anyone if it is world-readable. Otherwise 403.
 */
export async function requireReadableRoom(app: AppContext, userId: string, roomId: string): Promise<ReadLimit> {
  const limit = await readLimitOf(app.db, userId, roomId);
  if (limit.membership === undefined || limit.forgotten) {
    const [visibility] = await stateEventsAt(app.db, roomId, app.roomEvents.currentPosition(), { pairs: [{ type: 'm.room.history_visibility', state_key: '' }] });
    if (visibility?.json.content.history_visibility !== 'world_readable') throw forbidden(`You are not a member of room ${roomId}`);
  }
  return limit;
}

/**
 * Lazy-loading members: the m.room.member events of the senders of `events`,
 * as of the newest of them (never past what the reader may see).
 */
async function memberStateOfSenders(app: AppContext, viewer: Viewer, roomId: string, events: readonly EventRow[], readableUpTo: number): Promise<ClientEvent[]> {
  if (events.length === 0) return [];
  const senders = [...new Set(events.map((row) => row.sender))];
  const at = Math.min(Math.max(...events.map((row) => row.stream_ordering)), readableUpTo);
  const rows = await stateEventsAt(app.db, roomId, at, { pairs: senders.map((sender) => ({ type: 'm.room.member', state_key: sender })) });
  return toClientEvents(app.db, rows, viewer);
}

export interface ContextQuery {
  limit: number;
  filter: RoomEventFilter;
}

/**
 * GET /rooms/{roomId}/context/{eventId}: the event, up to `limit` events
 * around it (half before, the rest after), and the state at the last event
 * returned, filtered by the filter's types (and with `lazy_load_members`,
 * only the members who sent the returned events). 404 when the caller may
 * not see the event, so nothing leaks.
 */
export async function eventContext(app: AppContext, viewer: Viewer, roomId: string, eventId: string, query: ContextQuery) {
  const event = await roomEvent(app, viewer, roomId, eventId);
  const target = (await findEvent(app.db, eventId))!;
  const newest = app.roomEvents.currentPosition();
  const filter = rangeFilterOf(query.filter);
  const limit = Math.min(query.limit, query.filter.limit ?? query.limit);
  const beforeLimit = Math.floor(limit / 2);
  const before = await eventsInRange(app.db, { roomId, after: 0, upTo: target.stream_ordering - 1, direction: 'backwards', limit: beforeLimit, ...filter });
  const after = await eventsInRange(app.db, { roomId, after: target.stream_ordering, upTo: newest, direction: 'forwards', limit: limit - beforeLimit, ...filter });
  const visibleBefore = await filterVisibleEvents(app.db, viewer.userId, roomId, before);
  const visibleAfter = await filterVisibleEvents(app.db, viewer.userId, roomId, after);
  const start = (before.at(-1)?.stream_ordering ?? target.stream_ordering) - 1;
  const end = after.at(-1)?.stream_ordering ?? target.stream_ordering;
  const stateAt = Math.min(end, (await readLimitOf(app.db, viewer.userId, roomId)).upTo);
  let state = (await stateEventsAt(app.db, roomId, stateAt)).filter((row) => filterAllowsType(query.filter, row.type));
  if (query.filter.lazy_load_members) {
    const senders = new Set([target, ...visibleBefore, ...visibleAfter].map((row) => row.sender));
    state = state.filter((row) => row.type !== 'm.room.member' || senders.has(row.state_key ?? ''));
  }
  return {
    event,
    events_before: await toClientEvents(app.db, visibleBefore, viewer),
    events_after: await toClientEvents(app.db, visibleAfter, viewer),
    start: formatRoomPosition(start),
    end: formatRoomPosition(end),
    state: await toClientEvents(app.db, state, viewer),
  };
}
