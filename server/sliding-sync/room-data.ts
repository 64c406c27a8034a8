import type { AppContext } from '../app-context.ts';
import { strippedStateOf, toClientEvents } from '../rooms/client-event.ts';
import { filterVisibleEvents } from '../rooms/visibility.ts';
import { eventsInRange } from '../storage/queries/events.ts';
import { stateChangedBetween, stateEventsAt, type StateKeyPair } from '../storage/queries/room-state.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { formatRoomPosition } from '../sync/stream-token.ts';
import { roomSummary } from '../sync/streams/room-summary.ts';
import { unreadCounts, type UnreadSetup } from '../sync/unread-counts.ts';
import type { SentRoom } from './connection-state.ts';
import type { RoomConfig } from './request.ts';
import { coveredBy, exactPairs, requiredStateKey, requiredStateMatcher, type RequiredState } from './required-state.ts';
import type { CandidateRoom } from './room-list.ts';

/** Spec (stripped state): what an invitee or knocker sees of the room, as in /sync. */
const STRIPPED_STATE_TYPES = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];

/** What building one room needs of the request. */
export interface RoomScope {
  app: AppContext;
  userId: string;
  deviceId: string;
  /** The room-stream position the response covers. */
  upTo: number;
  /** The room-stream position the connection's previous response covered (undefined on a new connection): later events are "live". */
  liveAfter: number | undefined;
  ignored: ReadonlySet<string>;
  unreadSetup: () => Promise<UnreadSetup>;
}

export interface RoomOutcome {
  result: Record<string, unknown>;
  sent: SentRoom;
  initial: boolean;
}

/**
 * One room of the response, or undefined when nothing changed since the
 * connection last sent it. A room never sent (or sent with a narrower
 * config, or while only invited) goes down whole with `initial: true`; else
 * only what is new since it was last sent. Invites and knocks (and their
 * rejections) carry only stripped state. A left room is read up to the leave, and history
 * visibility is applied to every timeline exactly as /sync does.
 */
export async function roomOutcome(
  scope: RoomScope,
  room: CandidateRoom,
  config: RoomConfig,
  sent: (SentRoom & { config: RequiredState | undefined }) | undefined,
  countsChanged: boolean,
  isDm: boolean,
): Promise<RoomOutcome | undefined> {
  const configKey = requiredStateKey(config.requiredState);
  const dmChanged = sent !== undefined && (sent.isDm ?? false) !== isDm;
  const base = { membership: room.membership, bump_stamp: room.bumpStamp, ...(isDm || dmChanged ? { is_dm: isDm } : {}) };
  if (room.membership === 'invite' || room.membership === 'knock' || !room.everJoined) {
    // Invites, knocks, and rejected or withdrawn ones: the user never saw the room from inside.
    if (sent && sent.membership === room.membership && sent.upTo === room.membershipPosition) return undefined;
    const sentNow: SentRoom = { upTo: room.membershipPosition, membership: room.membership, timelineLimit: config.timelineLimit, requiredState: configKey, isDm };
    return { result: { ...base, initial: true, invite_state: await strippedStateAt(scope, room) }, sent: sentNow, initial: true };
  }

  const { app, userId } = scope;
  const readUpTo = room.membership === 'join' ? scope.upTo : Math.min(scope.upTo, room.membershipPosition);
  // A config that asks for more than the room was sent with resends it whole; a narrower one does not.
  const stateGrew = sent !== undefined && configKey !== sent.requiredState && !(sent.config && coveredBy(config.requiredState, sent.config));
  const expanded = sent !== undefined && (config.timelineLimit > sent.timelineLimit || stateGrew);
  const initial = !sent || expanded || (sent.membership !== 'join' && sent.membership !== room.membership);
  const after = initial ? 0 : Math.min(sent!.upTo, readUpTo);
  const sentNow: SentRoom = { upTo: readUpTo, membership: room.membership, timelineLimit: config.timelineLimit, requiredState: configKey, isDm };

  const limit = config.timelineLimit;
  const newestFirst = after < readUpTo ? await eventsInRange(app.db, { roomId: room.roomId, after, upTo: readUpTo, direction: 'backwards', limit: limit + 1 }) : [];
  if (!initial && newestFirst.length === 0 && sent!.membership === room.membership) {
    // Nothing new in the room; only the user's own read receipt may have moved its counts, or m.direct its DM flag.
    const recount = countsChanged && room.membership === 'join';
    if (!recount && !dmChanged) return undefined;
    const result = { ...(dmChanged ? { is_dm: isDm } : {}), ...(recount ? await unreadOf(scope, room.roomId, readUpTo) : {}) };
    return { result, sent: { ...sentNow, upTo: sent!.upTo }, initial: false };
  }
  const limited = newestFirst.length > limit;
  const rows = newestFirst.slice(0, limit).reverse();
  const timelineStart = rows.length > 0 ? rows[0].stream_ordering - 1 : readUpTo;
  // m.ignored_user_list: ignored users' messages are left out; their state changes still apply.
  const visible = (await filterVisibleEvents(app.db, userId, room.roomId, rows)).filter((row) => row.state_key !== null || !scope.ignored.has(row.sender));

  // The parts are independent: read them at once.
  const viewer = { userId, deviceId: scope.deviceId };
  const [requiredState, timeline, names, unread] = await Promise.all([
    requiredStateRows(scope, room.roomId, config, initial ? undefined : after, readUpTo, visible).then((rows) => toClientEvents(app.db, rows, viewer, false)),
    toClientEvents(app.db, visible, viewer, false),
    naming(scope, room.roomId, readUpTo, initial ? undefined : after),
    room.membership === 'join' ? unreadOf(scope, room.roomId, readUpTo) : {},
  ]);
  const result: Record<string, unknown> = {
    ...base,
    ...(initial ? { initial: true } : {}),
    ...names,
    required_state: requiredState,
    timeline,
    prev_batch: formatRoomPosition(timelineStart),
    limited,
    num_live: scope.liveAfter === undefined ? 0 : visible.filter((row) => row.stream_ordering > scope.liveAfter!).length,
    ...unread,
  };
  return { result, sent: sentNow, initial };
}

/**
 * The state the config asks for: all that matches on an initial send, what
 * changed since `after` otherwise; with lazy members, plus the member events
 * of the timeline's senders and of members the timeline changed.
 */
async function requiredStateRows(scope: RoomScope, roomId: string, config: RoomConfig, after: number | undefined, upTo: number, timeline: readonly EventRow[]): Promise<EventRow[]> {
  const { app, userId } = scope;
  const matcher = requiredStateMatcher(config.requiredState, userId);
  let rows: EventRow[];
  if (after === undefined) {
    const pairs = exactPairs(config.requiredState, userId);
    rows = pairs ? await stateEventsAt(app.db, roomId, upTo, { pairs }) : (await stateEventsAt(app.db, roomId, upTo)).filter((row) => matcher(row.type, row.state_key ?? ''));
  } else {
    const changed = (await stateChangedBetween(app.db, roomId, after, upTo)).filter((pair) => matcher(pair.type, pair.state_key));
    rows = await stateEventsAt(app.db, roomId, upTo, { pairs: changed });
  }
  if (!config.requiredState.lazyMembers) return rows;
  const have = new Set(rows.filter((row) => row.type === 'm.room.member').map((row) => row.state_key));
  const wanted = new Set<string>();
  for (const event of timeline) {
    wanted.add(event.sender);
    if (event.type === 'm.room.member' && event.state_key !== null) wanted.add(event.state_key);
  }
  const pairs: StateKeyPair[] = [...wanted].filter((id) => !have.has(id)).map((id) => ({ type: 'm.room.member', state_key: id }));
  return [...rows, ...(await stateEventsAt(app.db, roomId, upTo, { pairs }))];
}

/**
 * `name`, `avatar`, `heroes` (only for a room without a name) and member
 * counts: all of them on an initial send (no `after`), else those whose state changed since `after`.
 */
async function naming(scope: RoomScope, roomId: string, upTo: number, after: number | undefined): Promise<Record<string, unknown>> {
  const { app, userId } = scope;
  const initial = after === undefined;
  const changed = initial ? undefined : new Set((await stateChangedBetween(app.db, roomId, after, upTo)).map((pair) => pair.type));
  const membersChanged = !changed || changed.has('m.room.member');
  const namingChanged = !changed || changed.has('m.room.name') || changed.has('m.room.avatar');
  if (!membersChanged && !namingChanged) return {};
  const out: Record<string, unknown> = {};
  const namingRows = await stateEventsAt(app.db, roomId, upTo, { pairs: [{ type: 'm.room.name', state_key: '' }, { type: 'm.room.avatar', state_key: '' }] });
  const name = namingRows.find((row) => row.type === 'm.room.name')?.json.content.name;
  const avatar = namingRows.find((row) => row.type === 'm.room.avatar')?.json.content.url;
  const hasName = typeof name === 'string' && name !== '';
  if (namingChanged) {
    if (hasName) out.name = name;
    else if (!initial) out.name = null;
    if (typeof avatar === 'string' && avatar !== '') out.avatar = avatar;
    else if (!initial) out.avatar = null;
  }
  if (membersChanged || (namingChanged && !hasName)) {
    const summary = (await roomSummary(app.db, roomId, userId, upTo)) as { 'm.heroes': string[]; 'm.joined_member_count': number; 'm.invited_member_count': number };
    out.joined_count = summary['m.joined_member_count'];
    out.invited_count = summary['m.invited_member_count'];
    if (!hasName && summary['m.heroes'].length > 0) {
      const members = await stateEventsAt(app.db, roomId, upTo, { pairs: summary['m.heroes'].map((id) => ({ type: 'm.room.member', state_key: id })) });
      const byUser = new Map(members.map((row) => [row.state_key, row.json.content]));
      out.heroes = summary['m.heroes'].map((id) => {
        const content = byUser.get(id) ?? {};
        return {
          user_id: id,
          ...(typeof content.displayname === 'string' ? { displayname: content.displayname } : {}),
          ...(typeof content.avatar_url === 'string' ? { avatar_url: content.avatar_url } : {}),
        };
      });
    }
  }
  return out;
}

async function unreadOf(scope: RoomScope, roomId: string, upTo: number): Promise<Record<string, number>> {
  return { ...(await unreadCounts(scope.app.db, roomId, upTo, await scope.unreadSetup())) };
}

/** An invitee's or knocker's view: the room's stripped state as of their membership, and their membership event. */
async function strippedStateAt(scope: RoomScope, room: CandidateRoom) {
  const state = await stateEventsAt(scope.app.db, room.roomId, room.membershipPosition, { types: STRIPPED_STATE_TYPES });
  const own = await stateEventsAt(scope.app.db, room.roomId, room.membershipPosition, { pairs: [{ type: 'm.room.member', state_key: scope.userId }] });
  return strippedStateOf([...state, ...own]);
}
