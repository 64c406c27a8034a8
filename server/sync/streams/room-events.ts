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
import { roomSummary } from './room-summary.ts';
import { ignoredUsers, membershipRows, unreadSetup } from './request-scope.ts';
import { unreadCounts } from '../unread-counts.ts';
import { findEvent } from '../../storage/queries/events.ts';
import { sharedRead } from '../shared-reads.ts';

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
    const sections = await mapConcurrently(joined, ROOMS_IN_PARALLEL, async (row) => {
      const newlyJoined = since === undefined || (changed!.has(row.room_id) && !(await wasJoinedAt(app.db, row.room_id, request.userId, since)));
      if (!newlyJoined && !request.fullState && !withNewEvents?.has(row.room_id)) return undefined;
      const { room, membersChanged } = await roomSection(app, request, row.room_id, newlyJoined ? undefined : since, upTo);
      const unread = await unreadCounts(app.db, row.room_id, upTo, await unreadSetup(app, request));
      // The summary changes only with membership; left out otherwise (the spec allows it, clients keep the last one, as with Synapse).
      const summary = newlyJoined || request.fullState || membersChanged ? { summary: await roomSummary(app.db, row.room_id, request.userId, upTo) } : {};
      return { ...room, ...summary, ephemeral: { events: [] }, account_data: { events: [] }, unread_notifications: unread };
    });
    joined.forEach((row, i) => sections[i] && response.join.set(row.room_id, sections[i]));

    for (const row of memberships) {
      if (!wanted(row.room_id) || (changed && !changed.has(row.room_id))) continue;
      if (row.membership === 'invite') {
        // m.ignored_user_list: an invite from an ignored user is dropped.
        if ((await ignoredUsers(app, request)).has((await findEvent(app.db, row.event_id))?.sender ?? '')) continue;
        response.invite.set(row.room_id, { invite_state: await strippedStateAt(app.db, row, request.userId) });
      } else if (row.membership === 'knock') {
        response.knock.set(row.room_id, { knock_state: await strippedStateAt(app.db, row, request.userId) });
      } else if ((row.membership === 'leave' || row.membership === 'ban') && !row.forgotten && (since !== undefined || request.filter.includeLeave)) {
        response.leave.set(row.room_id, (await roomSection(app, request, row.room_id, since, row.stream_ordering)).room);
      }
    }
  },
};

/**
 * One room's timeline (the newest events in (after, upTo], at most the limit)
 * and the state before it: all of it without `after` or with full_state, else
 * only what changed between `after` and the timeline's start. `membersChanged`:
 * a member event is among them (the room summary must be sent again).
 */
async function roomSection(app: AppContext, request: SyncRequest, roomId: string, after: number | undefined, upTo: number): Promise<{ room: SyncRoom; membersChanged: boolean }> {
  const limit = request.filter.timelineLimit;
  const range = { roomId, after: after ?? 0, upTo, direction: 'backwards', limit: limit + 1 } as const;
  // Every member woken by one send reads the same new events: one read serves them (the key must name everything the range depends on).
  const newestFirst =
    after === undefined ? await eventsInRange(app.db, range) : await sharedRead(app, `room-events|${roomId}|${after}|${upTo}|${range.limit}`, () => eventsInRange(app.db, range));
  const limited = newestFirst.length > limit;
  const rows = newestFirst.slice(0, limit).reverse();
  const timelineStart = rows.length > 0 ? rows[0].stream_ordering - 1 : upTo;
  const ignored = await ignoredUsers(app, request);
  // m.ignored_user_list: ignored users' messages are left out; their state changes still apply.
  const visible = (await filterVisibleEvents(app.db, request.userId, roomId, rows)).filter((row) => row.state_key !== null || !ignored.has(row.sender));

  let stateRows: EventRow[];
  if (after === undefined || request.fullState) stateRows = await stateEventsAt(app.db, roomId, timelineStart);
  else if (!limited) stateRows = [];
  else stateRows = await stateEventsAt(app.db, roomId, timelineStart, { pairs: await stateChangedBetween(app.db, roomId, after, timelineStart) });

  const viewer = { userId: request.userId, deviceId: request.deviceId };
  const timeline: ClientEvent[] = await toClientEvents(app.db, visible, viewer, false);
  const state: ClientEvent[] = await toClientEvents(app.db, stateRows, viewer, false);
  const membersChanged = [...rows, ...stateRows].some((row) => row.type === 'm.room.member');
  return { room: { timeline: { events: timeline, limited, prev_batch: formatRoomPosition(timelineStart) }, state: { events: state } }, membersChanged };
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

/** `map` with at most `limit` calls in flight; results in input order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
