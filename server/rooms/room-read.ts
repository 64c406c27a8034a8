import type { AppContext } from '../app-context.ts';
import { forbidden, notFound } from '../errors.ts';
import { findEvent } from '../storage/queries/events.ts';
import { currentStateEvents, stateEventsAt, type StateKeyPair } from '../storage/queries/room-state.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { toClientEvents, type ClientEvent, type Viewer } from './client-event.ts';
import { filterVisibleEvents, readLimitOf } from './visibility.ts';

/**
 * Reading a room as a user: its state (current while joined, as of the leave
 * after leaving, current for anyone if world-readable), single events, and
 * members. What the user may see is decided here, once.
 */

/** The position whose state the user may read, or a refusal. */
async function readableStatePosition(app: AppContext, userId: string, roomId: string): Promise<number> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const limit = await readLimitOf(app.db, userId, roomId);
  if (limit.membership === 'join') return app.roomEvents.currentPosition();
  if (await isWorldReadable(app, roomId)) return app.roomEvents.currentPosition();
  if ((limit.membership === 'leave' || limit.membership === 'ban') && !limit.forgotten) return limit.upTo;
  throw forbidden(`You are not a member of room ${roomId} and its history is not world-readable`);
}

async function isWorldReadable(app: AppContext, roomId: string): Promise<boolean> {
  const [row] = await currentStateEvents(app.db, roomId, [{ type: 'm.room.history_visibility', state_key: '' }]);
  return row?.json.content.history_visibility === 'world_readable';
}

/** GET /rooms/{roomId}/state: every state event the user may see. */
export async function roomState(app: AppContext, viewer: Viewer, roomId: string): Promise<ClientEvent[]> {
  const position = await readableStatePosition(app, viewer.userId, roomId);
  return toClientEvents(app.db, await stateEventsAt(app.db, roomId, position), viewer);
}

/** GET /rooms/{roomId}/state/{type}/{stateKey}: one state event's content. */
export async function roomStateEvent(app: AppContext, viewer: Viewer, roomId: string, key: StateKeyPair): Promise<ClientEvent> {
  const position = await readableStatePosition(app, viewer.userId, roomId);
  const [row] = await stateEventsAt(app.db, roomId, position, { pairs: [key] });
  if (!row) throw notFound(`Room ${roomId} has no ${key.type} state with state_key ${JSON.stringify(key.state_key)}`);
  const [event] = await toClientEvents(app.db, [row], viewer);
  return event;
}

export interface MembersQuery {
  membership?: string;
  notMembership?: string;
  /** A position from a sync or pagination token: the members as of then. */
  at?: number;
}

/** GET /rooms/{roomId}/members: member events, optionally filtered and as of a position. */
export async function roomMembers(app: AppContext, viewer: Viewer, roomId: string, query: MembersQuery): Promise<ClientEvent[]> {
  const readable = await readableStatePosition(app, viewer.userId, roomId);
  const position = query.at === undefined ? readable : Math.min(readable, query.at);
  const rows = (await stateEventsAt(app.db, roomId, position, { types: ['m.room.member'] })).filter((row) => membershipWanted(row.json.content.membership, query));
  return toClientEvents(app.db, rows, viewer);
}

/** Spec: `membership` and `not_membership` together are an "or": is `membership`, or is not `not_membership`. */
function membershipWanted(membership: unknown, query: MembersQuery): boolean {
  const is = query.membership === undefined ? undefined : membership === query.membership;
  const isNot = query.notMembership === undefined ? undefined : membership !== query.notMembership;
  if (is === undefined && isNot === undefined) return true;
  return is === true || isNot === true;
}

/** GET /rooms/{roomId}/joined_members: only for members; display names and avatars by user. */
export async function joinedMemberProfiles(app: AppContext, viewer: Viewer, roomId: string): Promise<Record<string, { display_name?: string; avatar_url?: string }>> {
  const limit = await readLimitOf(app.db, viewer.userId, roomId);
  if (limit.membership !== 'join') throw forbidden(`You are not a member of room ${roomId}`);
  const rows = await stateEventsAt(app.db, roomId, app.roomEvents.currentPosition(), { types: ['m.room.member'] });
  const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
  for (const row of rows) {
    const content = row.json.content;
    if (content.membership !== 'join' || row.state_key === null) continue;
    joined[row.state_key] = {
      ...(typeof content.displayname === 'string' ? { display_name: content.displayname } : {}),
      ...(typeof content.avatar_url === 'string' ? { avatar_url: content.avatar_url } : {}),
    };
  }
  return joined;
}

/** GET /rooms/{roomId}/event/{eventId}: one event, if the user may see it (404 otherwise, so nothing leaks). */
export async function roomEvent(app: AppContext, viewer: Viewer, roomId: string, eventId: string): Promise<ClientEvent> {
  const row = await findEvent(app.db, eventId);
  const visible: EventRow[] = row && row.room_id === roomId && row.stream_ordering <= app.roomEvents.currentPosition() ? await filterVisibleEvents(app.db, viewer.userId, roomId, [row]) : [];
  if (visible.length === 0) throw notFound(`Event ${eventId} was not found in room ${roomId}, or you may not see it`);
  const [event] = await toClientEvents(app.db, visible, viewer);
  return event;
}
