import type { AppContext } from '../app-context.ts';
import { findAccountData, GLOBAL_ROOM } from '../storage/queries/account-data.ts';
import { encryptedRoomsAmong } from '../storage/queries/encrypted-rooms.ts';
import { stateEventsAt } from '../storage/queries/room-state.ts';
import { latestEventPositions, membershipsWithSender, roomsEverJoined, roomTagNames, roomTypesOf, spaceChildrenOf } from '../storage/queries/sliding-sync.ts';
import type { ListFilters, SlidingList } from './request.ts';

/** MSC4186: events that count as activity for `bump_stamp` and the list order. */
export const BUMP_EVENT_TYPES = ['m.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info'];

/** A room the user may see in a list: their membership as of the response's room position, and its activity stamp. */
export interface CandidateRoom {
  roomId: string;
  membership: string;
  /** Position of the user's membership event. */
  membershipPosition: number;
  membershipEventId: string;
  bumpStamp: number;
  /** Whether the user was ever joined: a room they only were invited to (or knocked on) shows only stripped state. */
  everJoined: boolean;
}

/**
 * The user's rooms for lists, newest activity first: joined, invited and
 * knocked rooms; rooms they were kicked or banned from; and rooms they left
 * themselves only if this connection sent them before (the client must
 * learn it left). Forgotten rooms, invites from ignored users and rooms the
 * user was banned from without ever joining are left out. A joined room's
 * stamp is its newest activity (as Synapse); other rooms' is their
 * membership change.
 */
export async function candidateRooms(app: AppContext, userId: string, upTo: number, sentBefore: ReadonlySet<string>, ignored: ReadonlySet<string>): Promise<CandidateRoom[]> {
  const rows = await membershipsWithSender(app.db, userId);
  const rooms: CandidateRoom[] = [];
  for (const row of rows) {
    let { membership, stream_ordering: position, event_id: eventId, sender } = row;
    if (position > upTo) {
      // Committed but not yet visible at this response's position: the membership before it applies.
      const [earlier] = await stateEventsAt(app.db, row.room_id, upTo, { pairs: [{ type: 'm.room.member', state_key: userId }] });
      if (!earlier) continue;
      membership = String(earlier.json.content.membership);
      position = earlier.stream_ordering;
      eventId = earlier.event_id;
      sender = earlier.sender;
    }
    if (row.forgotten && membership !== 'join' && membership !== 'invite' && membership !== 'knock') continue;
    if (membership === 'invite' && ignored.has(sender)) continue;
    if (membership === 'leave' || membership === 'ban') {
      const removedByOther = sender !== userId;
      if (!removedByOther && !sentBefore.has(row.room_id)) continue;
    }
    rooms.push({ roomId: row.room_id, membership, membershipPosition: position, membershipEventId: eventId, bumpStamp: position, everJoined: membership === 'join' });
  }
  const departed = rooms.filter((room) => room.membership === 'leave' || room.membership === 'ban');
  const everJoined = await roomsEverJoined(app.db, userId, departed.map((room) => room.roomId));
  for (const room of departed) room.everJoined = everJoined.has(room.roomId);
  const visible = rooms.filter((room) => room.membership !== 'ban' || room.everJoined);
  rooms.length = 0;
  rooms.push(...visible);
  const joined = rooms.filter((room) => room.membership === 'join');
  const activity = await latestEventPositions(app.db, joined.map((room) => room.roomId), BUMP_EVENT_TYPES, upTo);
  // Not the user's own membership position: every profile change rewrites it, and would reorder the whole list.
  for (const room of joined) room.bumpStamp = activity.get(room.roomId) ?? room.membershipPosition;
  rooms.sort((a, b) => b.bumpStamp - a.bumpStamp || (a.roomId < b.roomId ? -1 : 1));
  return rooms;
}

/** Lookups the list filters need, made once per request and only when some list uses them. */
export interface FilterData {
  dmRooms: ReadonlySet<string>;
  encrypted: ReadonlySet<string> | undefined;
  roomTypes: ReadonlyMap<string, string | null> | undefined;
  spaceChildren: ReadonlySet<string> | undefined;
  tags: ReadonlyMap<string, string[]> | undefined;
}

export async function loadFilterData(app: AppContext, userId: string, rooms: readonly CandidateRoom[], lists: readonly SlidingList[]): Promise<FilterData> {
  const uses = (field: keyof ListFilters) => lists.some((list) => list.filters[field] !== undefined);
  const roomIds = rooms.map((room) => room.roomId);
  const joined = new Set(rooms.filter((room) => room.membership === 'join').map((room) => room.roomId));
  const spaces = [...new Set(lists.flatMap((list) => list.filters.spaces ?? []))].filter((id) => joined.has(id));
  const [direct, encrypted, roomTypes, spaceChildren, tags] = await Promise.all([
    findAccountData(app.db, userId, GLOBAL_ROOM, 'm.direct'),
    uses('is_encrypted') ? encryptedRoomsAmong(app.db, roomIds) : undefined,
    uses('room_types') || uses('not_room_types') ? roomTypesOf(app.db, roomIds) : undefined,
    uses('spaces') ? spaceChildrenOf(app.db, spaces) : undefined,
    uses('tags') || uses('not_tags') ? roomTagNames(app.db, userId) : undefined,
  ]);
  return { dmRooms: directRoomsOf(direct), encrypted, roomTypes, spaceChildren, tags };
}

/** m.direct: `{user_id: [room_id, ...]}`; anything else in it is ignored. */
export function directRoomsOf(content: Record<string, unknown> | undefined): Set<string> {
  const rooms = new Set<string>();
  for (const value of Object.values(content ?? {})) if (Array.isArray(value)) for (const id of value) if (typeof id === 'string') rooms.add(id);
  return rooms;
}

/** Whether a room passes a list's filters (all given filters must hold). */
export function matchesFilters(room: CandidateRoom, filters: ListFilters, data: FilterData): boolean {
  if (filters.is_dm !== undefined && data.dmRooms.has(room.roomId) !== filters.is_dm) return false;
  if (filters.is_encrypted !== undefined && (data.encrypted?.has(room.roomId) ?? false) !== filters.is_encrypted) return false;
  const isInvite = filters.is_invited ?? filters.is_invite;
  if (isInvite !== undefined && (room.membership === 'invite') !== isInvite) return false;
  const roomType = data.roomTypes?.get(room.roomId) ?? null;
  if (filters.not_room_types && filters.not_room_types.includes(roomType)) return false;
  if (filters.room_types && !filters.room_types.includes(roomType)) return false;
  if (filters.spaces && !data.spaceChildren?.has(room.roomId)) return false;
  const tags = data.tags?.get(room.roomId) ?? [];
  if (filters.not_tags && tags.some((tag) => filters.not_tags!.includes(tag))) return false;
  if (filters.tags && !tags.some((tag) => filters.tags!.includes(tag))) return false;
  return true;
}

/** A list's result: how many rooms pass its filters, and those inside its ranges. */
export function windowOf(list: SlidingList, rooms: readonly CandidateRoom[], data: FilterData): { count: number; rooms: CandidateRoom[] } {
  const filtered = rooms.filter((room) => matchesFilters(room, list.filters, data));
  if (!list.ranges) return { count: filtered.length, rooms: filtered };
  const inWindow = new Set<CandidateRoom>();
  for (const [start, end] of list.ranges) for (const room of filtered.slice(start, end + 1)) inWindow.add(room);
  return { count: filtered.length, rooms: filtered.filter((room) => inWindow.has(room)) };
}
