import type { AppContext } from '../../app-context.ts';
import { strippedStateOf, toClientEvents, type ClientEvent } from '../../rooms/client-event.ts';
import { filterVisibleEvents } from '../../rooms/visibility.ts';
import type { Queryable } from '../../storage/database.ts';
import { eventsInRange, roomsWithEventsBetween } from '../../storage/queries/events.ts';
import { membershipsChangedBetween, stateChangedBetween, stateEventsAt } from '../../storage/queries/room-state.ts';
import type { EventRow, MembershipRow } from '../../storage/tables/rooms.ts';
import type { SyncRoom } from '../sync-response.ts';
import { formatRoomPosition } from '../stream-token.ts';
import type { StreamProvider, SyncRequest } from './provider.ts';
import { roomSummary, summaryOf } from './room-summary.ts';
import { ignoredUsers, membershipRows, unreadSetup } from './request-scope.ts';
import { unreadSections } from '../unread-counts.ts';
import { findEvent } from '../../storage/queries/events.ts';
import { sharedRead } from '../shared-reads.ts';
import { newestEventsOfRooms, stateEventsOfRoomsAt } from '../../storage/queries/sync-batch.ts';
import { filterStateSection, stateBesideFilteredTimeline, timelineIsFiltered } from '../state-section-filter.ts';
import { mapConcurrently } from '../map-concurrently.ts';

/** Rooms of one sync built at once: enough to overlap round trips, few enough to leave the pool to others. */
const ROOMS_IN_PARALLEL = 4;

/** Spec (stripped state): what an invitee or knocker sees of the room. */
const INVITE_STATE_TYPES = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];

/**
 * The room-event stream: timelines and state of joined and left rooms, and
 * invites. Incremental cost grows with what changed since the token: rooms are
 * found through membership changes and events in (since, upTo].
 */
export const roomEventsProvider: StreamProvider = {
  name: 'room',
  latest: (app) => app.roomEvents.currentPosition(),
  // Timelines, state, memberships (invites, leaves) and the unread counts that new events change.
  dependsOn: ['room'],
  async collect(app, request, response) {
    const upTo = request.upTo.room;
    const since = request.since?.room;
    const memberships = await membershipsAt(app.db, await membershipRows(app, request), upTo);
    const changed = since === undefined ? undefined : new Set((await membershipsChangedBetween(app.db, request.userId, since, upTo)).map((row) => row.room_id));
    const wanted = (roomId: string) => (!request.filter.rooms || request.filter.rooms.has(roomId)) && !request.filter.notRooms.has(roomId);

    const joined = memberships.filter((row) => row.membership === 'join' && wanted(row.room_id));
    const withNewEvents = since === undefined || request.fullState ? undefined : new Set(await roomsWithEventsBetween(app.db, joined.map((row) => row.room_id), since, upTo));
    // An initial sync needs every joined room's newest events and the state before them: read for all rooms at once
    // (a filtered timeline is read room by room, with its filter).
    const initial = since === undefined && !timelineIsFiltered(request) ? await initialRoomReads(app, request, joined.map((row) => row.room_id), upTo) : undefined;
    const parts = await mapConcurrently(joined, ROOMS_IN_PARALLEL, async (row) => {
      const newlyJoined = since === undefined || (changed!.has(row.room_id) && !(await wasJoinedAt(app.db, row.room_id, request.userId, since)));
      if (!newlyJoined && !request.fullState && !withNewEvents?.has(row.room_id)) return undefined;
      const prefetched = initial?.get(row.room_id);
      const rows = await roomRows(app, request, row.room_id, newlyJoined ? undefined : since, upTo, prefetched);
      // New events the timeline filter left out, and no state for them: nothing to tell.
      if (!newlyJoined && !request.fullState && timelineIsFiltered(request) && rows.timeline.length === 0 && rows.state.length === 0) return undefined;
      const unread = await unreadSections(app.db, row.room_id, upTo, await unreadSetup(app, request), request.filter.unreadThreadNotifications);
      // The summary changes only with membership; left out otherwise (the spec allows it, clients keep the last one, as with Synapse).
      const summary = !(newlyJoined || request.fullState || rows.membersChanged)
        ? {}
        : { summary: prefetched ? summaryOf(stateAtUpTo(prefetched, request.filter.timelineLimit), request.userId) : await roomSummary(app.db, row.room_id, request.userId, upTo) };
      return { roomId: row.room_id, rows, extra: { ...summary, ephemeral: { events: [] }, account_data: { events: [] }, ...unread } };
    });
    const built = parts.filter((part) => part !== undefined);
    const rooms = await toSyncRooms(app, request, built.map((part) => part.rows));
    built.forEach((part, i) => response.join.set(part.roomId, { ...rooms[i], ...part.extra }));

    for (const row of memberships) {
      if (!wanted(row.room_id) || (changed && !changed.has(row.room_id))) continue;
      if (row.membership === 'invite') {
        // m.ignored_user_list: an invite from an ignored user is dropped.
        if ((await ignoredUsers(app, request)).has((await findEvent(app.db, row.event_id))?.sender ?? '')) continue;
        response.invite.set(row.room_id, { invite_state: await strippedStateAt(app.db, row, request.userId) });
      } else if (row.membership === 'knock') {
        response.knock.set(row.room_id, { knock_state: await strippedStateAt(app.db, row, request.userId) });
      } else if ((row.membership === 'leave' || row.membership === 'ban') && (since !== undefined ? !row.forgotten || row.stream_ordering > since : request.filter.includeLeave && !row.forgotten)) {
        // A leave in the range shows even if the room was forgotten since, so the user's other devices learn of it
        // (as Synapse does; Complement's TestRoomForget). Its history stays hidden: the section's timeline is empty.
        // An initial sync never shows a forgotten room.
        response.leave.set(row.room_id, await roomSection(app, request, row.room_id, since, row.stream_ordering));
      }
    }
  },
};

/** One room's part before conversion to client events. */
interface RoomRows {
  /** The timeline events the user may see, oldest first. */
  timeline: EventRow[];
  state: EventRow[];
  limited: boolean;
  timelineStart: number;
  /** A member event is among them (the room summary must be sent again). */
  membersChanged: boolean;
}

/**
 * One room's timeline (the newest events in (after, upTo], at most the limit)
 * and the state before it: all of it without `after` or with full_state, else
 * only what changed between `after` and the timeline's start.
 */
async function roomSection(app: AppContext, request: SyncRequest, roomId: string, after: number | undefined, upTo: number): Promise<SyncRoom> {
  const [room] = await toSyncRooms(app, request, [await roomRows(app, request, roomId, after, upTo)]);
  return room;
}

async function roomRows(app: AppContext, request: SyncRequest, roomId: string, after: number | undefined, upTo: number, prefetched?: InitialRoomReads): Promise<RoomRows> {
  const limit = request.filter.timelineLimit;
  const range = { roomId, after: after ?? 0, upTo, direction: 'backwards', limit: limit + 1, ...request.filter.timelineEvents } as const;
  // Every member woken by one send reads the same new events: one read serves them (the key must name everything the
  // range depends on; a filtered timeline is the user's own, so it is read alone).
  const newestFirst =
    prefetched?.newestFirst ??
    (after === undefined || timelineIsFiltered(request)
      ? await eventsInRange(app.db, range)
      : await sharedRead(app, `room-events|${roomId}|${after}|${upTo}|${range.limit}`, () => eventsInRange(app.db, range)));
  const limited = newestFirst.length > limit;
  const rows = newestFirst.slice(0, limit).reverse();
  const timelineStart = rows.length > 0 ? rows[0].stream_ordering - 1 : upTo;
  const ignored = await ignoredUsers(app, request);
  // m.ignored_user_list: ignored users' messages are left out; their state changes still apply.
  // The user's row as read for this request (the same current row visibility would read).
  const membership = (await membershipRows(app, request)).find((row) => row.room_id === roomId) ?? null;
  const visible = (await filterVisibleEvents(app.db, request.userId, roomId, rows, membership)).filter((row) => row.state_key !== null || !ignored.has(row.sender));

  let stateRows: EventRow[];
  if (timelineIsFiltered(request)) stateRows = await stateBesideFilteredTimeline(app, roomId, request.fullState ? undefined : after, upTo, visible);
  else if (prefetched) stateRows = prefetched.state;
  else if (after === undefined || request.fullState) stateRows = await stateEventsAt(app.db, roomId, timelineStart);
  else if (!limited) stateRows = [];
  else stateRows = await stateEventsAt(app.db, roomId, timelineStart, { pairs: await stateChangedBetween(app.db, roomId, after, timelineStart) });

  const membersChanged = [...rows, ...stateRows].some((row) => row.type === 'm.room.member');
  stateRows = await filterStateSection(app, request, roomId, stateRows, visible, timelineStart);
  return { timeline: visible, state: stateRows, limited, timelineStart, membersChanged };
}

/** Rooms' events converted together (redactions, prior state, relations: a few queries per batch, not per room). */
const EVENTS_CONVERTED_TOGETHER = 2000;

async function toSyncRooms(app: AppContext, request: SyncRequest, rooms: readonly RoomRows[]): Promise<SyncRoom[]> {
  const viewer = { userId: request.userId, deviceId: request.deviceId };
  const result: SyncRoom[] = [];
  for (let first = 0; first < rooms.length; ) {
    // A batch is at least one room, and more while they fit (a parameter list has a bound).
    let end = first + 1;
    let size = rooms[first].timeline.length + rooms[first].state.length;
    while (end < rooms.length && size + rooms[end].timeline.length + rooms[end].state.length <= EVENTS_CONVERTED_TOGETHER) size += rooms[end].timeline.length + rooms[end++].state.length;
    const batch = rooms.slice(first, end);
    const timeline: ClientEvent[] = await toClientEvents(app.db, batch.flatMap((room) => room.timeline), viewer, false);
    const state: ClientEvent[] = await toClientEvents(app.db, batch.flatMap((room) => room.state), viewer, false);
    let t = 0;
    let s = 0;
    for (const room of batch) {
      result.push({
        timeline: { events: timeline.slice(t, (t += room.timeline.length)), limited: room.limited, prev_batch: formatRoomPosition(room.timelineStart) },
        state: { events: state.slice(s, (s += room.state.length)) },
      });
    }
    first = end;
  }
  return result;
}

/** What an initial sync reads of a joined room up front: its newest events (one more than the limit, newest first) and the state before the timeline. */
interface InitialRoomReads {
  newestFirst: EventRow[];
  state: EventRow[];
}

async function initialRoomReads(app: AppContext, request: SyncRequest, roomIds: readonly string[], upTo: number): Promise<Map<string, InitialRoomReads>> {
  const limit = request.filter.timelineLimit;
  const newest = await newestEventsOfRooms(app.db, roomIds, upTo, limit + 1);
  // As in roomSection: the state is taken just before the oldest event the timeline shows.
  const timelineStarts = new Map(
    roomIds.map((roomId) => {
      const shown = newest.get(roomId)!.slice(0, limit);
      return [roomId, shown.length > 0 ? shown[shown.length - 1].stream_ordering - 1 : upTo];
    }),
  );
  const states = await stateEventsOfRoomsAt(app.db, timelineStarts);
  return new Map(roomIds.map((roomId) => [roomId, { newestFirst: newest.get(roomId)!, state: states.get(roomId)! }]));
}

/** The state at `upTo`: the state before the timeline with the timeline's state events applied (the timeline runs up to `upTo` with no gap). */
function stateAtUpTo(reads: InitialRoomReads, limit: number): EventRow[] {
  const byKey = new Map(reads.state.map((row) => [`${row.type}\u0000${row.state_key}`, row]));
  for (const row of reads.newestFirst.slice(0, limit).reverse()) if (row.state_key !== null) byKey.set(`${row.type}\u0000${row.state_key}`, row);
  return [...byKey.values()];
}

/** What an invitee or knocker sees of a room: its stripped state as of their membership event, and that event. */
async function strippedStateAt(db: Queryable, row: MembershipRow, userId: string) {
  const state = await stateEventsAt(db, row.room_id, row.stream_ordering, { types: INVITE_STATE_TYPES });
  const [own] = await stateEventsAt(db, row.room_id, row.stream_ordering, { pairs: [{ type: 'm.room.member', state_key: userId }] });
  return { events: strippedStateOf([...state, ...(own ? [own] : [])]) };
}

/** Whether the user was already joined at `position` (a profile change is not a new join). */
async function wasJoinedAt(db: Queryable, roomId: string, userId: string, position: number): Promise<boolean> {
  const [member] = await stateEventsAt(db, roomId, position, { pairs: [{ type: 'm.room.member', state_key: userId }] });
  return member?.json.content.membership === 'join';
}

/**
 * The user's memberships as of `upTo`. Rows newer than `upTo` are committed but
 * not yet visible to readers; for those the membership at `upTo` comes from the
 * state history.
 */
async function membershipsAt(db: Queryable, rows: readonly MembershipRow[], upTo: number): Promise<MembershipRow[]> {
  const result: MembershipRow[] = [];
  for (const row of rows) {
    if (row.stream_ordering <= upTo) {
      result.push(row);
      continue;
    }
    const [earlier] = await stateEventsAt(db, row.room_id, upTo, { pairs: [{ type: 'm.room.member', state_key: row.user_id }] });
    if (earlier) result.push({ ...row, membership: String(earlier.json.content.membership), event_id: earlier.event_id, stream_ordering: earlier.stream_ordering, forgotten: false });
  }
  return result;
}

