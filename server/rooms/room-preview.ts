import type { AppContext } from '../app-context.ts';
import { currentStateEvents, findMembership, joinedMembers } from '../storage/queries/room-state.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { allowedRoomIds as allowedRoomIdsOf } from './restricted-join.ts';

/**
 * What someone outside a room may learn about it (the spec's RoomSummary),
 * and whether they may: the rule the space hierarchy and the room summary
 * share. Only rooms this server knows (no federation).
 */
const SUMMARY_TYPES = ['m.room.create', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.encryption'];

export interface LoadedRoom {
  roomId: string;
  roomVersion: string;
  /** The summary's state, and the `extraTypes` asked for. */
  state: EventRow[];
}

export async function loadRoomPreview(app: AppContext, roomId: string, extraTypes: readonly string[] = []): Promise<LoadedRoom | undefined> {
  const row = await findRoom(app.db, roomId);
  if (!row) return undefined;
  const state = await currentStateEvents(app.db, roomId);
  return { roomId, roomVersion: row.room_version, state: state.filter((event) => SUMMARY_TYPES.includes(event.type) || extraTypes.includes(event.type)) };
}

function content(room: LoadedRoom, type: string): Record<string, unknown> {
  return room.state.find((event) => event.type === type && event.state_key === '')?.json.content ?? {};
}

/**
 * The spec's list (space hierarchy, room summary): joined or invited, a
 * public, knock or world-readable room, or a restricted room whose allow list
 * names a room the user is in. Without a user: public, knock or world-readable only.
 */
export async function mayPreview(app: AppContext, userId: string | undefined, room: LoadedRoom, joinedRooms: ReadonlySet<string>): Promise<boolean> {
  const membership = userId === undefined ? undefined : (await findMembership(app.db, room.roomId, userId))?.membership;
  if (membership === 'join' || membership === 'invite') return true;
  if (membership === 'ban') return false;
  if (content(room, 'm.room.history_visibility').history_visibility === 'world_readable') return true;
  const joinRule = content(room, 'm.room.join_rules').join_rule;
  if (joinRule === 'public' || joinRule === 'knock' || joinRule === 'knock_restricted') return true;
  if (joinRule === 'restricted') return allowedRoomIds(room).some((roomId) => joinedRooms.has(roomId));
  return false;
}

function allowedRoomIds(room: LoadedRoom): string[] {
  return allowedRoomIdsOf(content(room, 'm.room.join_rules'));
}

export async function summaryOf(app: AppContext, room: LoadedRoom): Promise<Record<string, unknown>> {
  const text = (type: string, key: string) => {
    const value = content(room, type)[key];
    return typeof value === 'string' ? value : undefined;
  };
  const allowed = allowedRoomIds(room);
  const summary: Record<string, unknown> = {
    room_id: room.roomId,
    num_joined_members: (await joinedMembers(app.db, room.roomId)).length,
    world_readable: text('m.room.history_visibility', 'history_visibility') === 'world_readable',
    guest_can_join: text('m.room.guest_access', 'guest_access') === 'can_join',
    join_rule: text('m.room.join_rules', 'join_rule') ?? 'invite',
    room_version: room.roomVersion,
    name: text('m.room.name', 'name'),
    topic: text('m.room.topic', 'topic'),
    avatar_url: text('m.room.avatar', 'url'),
    canonical_alias: text('m.room.canonical_alias', 'alias'),
    room_type: text('m.room.create', 'type'),
    encryption: text('m.room.encryption', 'algorithm'),
    ...(allowed.length > 0 ? { allowed_room_ids: allowed } : {}),
  };
  return Object.fromEntries(Object.entries(summary).filter(([, value]) => value !== undefined));
}
