import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam, notFound } from '../errors.ts';
import { currentStateEvents } from '../storage/queries/room-state.ts';
import { findRoom, publishedRooms, setRoomPublic } from '../storage/queries/rooms.ts';
import { findMembership } from '../storage/queries/room-state.ts';
import { mayChangeCanonicalAlias } from './aliases.ts';

/**
 * The published room directory (spec: client-server-api "Published room
 * directory"): rooms their moderators chose to list, with what a visitor needs
 * to decide whether to join. Sorted by joined members; paginated by offset.
 * Each request reads every published room's summary state, which suits an
 * organisation's directory (hundreds to a few thousand rooms), not a public
 * server's; a cached summary table is the next step if it must grow.
 */

export const DEFAULT_DIRECTORY_LIMIT = 100;
const SUMMARY_STATE = ['m.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.create'];

export async function roomDirectoryVisibility(app: AppContext, roomId: string): Promise<'public' | 'private'> {
  const room = await findRoom(app.db, roomId);
  if (!room) throw notFound(`Room ${roomId} is not known to this server`);
  return room.is_public ? 'public' : 'private';
}

/** Publishing or unpublishing: a server admin, or a member who may change the room's canonical alias. */
export async function setRoomDirectoryVisibility(app: AppContext, caller: { userId: string; isAdmin: boolean }, roomId: string, visibility: 'public' | 'private'): Promise<void> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  if (!caller.isAdmin) {
    const joined = (await findMembership(app.db, roomId, caller.userId))?.membership === 'join';
    if (!joined || !(await mayChangeCanonicalAlias(app, roomId, caller.userId))) {
      throw forbidden(`Only a room moderator or a server admin may change whether ${roomId} is published`);
    }
  }
  await setRoomPublic(app.db, roomId, visibility === 'public');
}

export interface DirectoryQuery {
  limit: number | undefined;
  since: string | undefined;
  searchTerm: string | undefined;
  /** `null` in the list stands for rooms without a type. */
  roomTypes: Array<string | null> | undefined;
}

export async function listPublishedRooms(app: AppContext, query: DirectoryQuery) {
  const offset = query.since === undefined ? 0 : parseOffset(query.since);
  const limit = Math.max(0, query.limit ?? DEFAULT_DIRECTORY_LIMIT);
  const rooms = await publishedRooms(app.db);
  const summaries = [];
  for (const room of rooms) summaries.push(await summaryOf(app, room.room_id, room.joined));
  const term = query.searchTerm?.toLowerCase();
  const matching = summaries.filter((summary) => {
    // Spec: an empty `room_types` is no filter; `null` in it stands for rooms without a type.
    if (query.roomTypes?.length && !query.roomTypes.includes(summary.room_type ?? null)) return false;
    if (!term) return true;
    return [summary.name, summary.topic, summary.canonical_alias, summary.room_id].some((text) => text?.toLowerCase().includes(term));
  });
  const chunk = matching.slice(offset, offset + limit);
  return {
    chunk,
    total_room_count_estimate: matching.length,
    ...(offset + limit < matching.length ? { next_batch: `o${offset + limit}` } : {}),
    ...(offset > 0 ? { prev_batch: `o${Math.max(0, offset - limit)}` } : {}),
  };
}

async function summaryOf(app: AppContext, roomId: string, joined: number) {
  const rows = await currentStateEvents(app.db, roomId, SUMMARY_STATE.map((type) => ({ type, state_key: '' })));
  const content = (type: string) => rows.find((row) => row.type === type)?.json.content ?? {};
  const text = (type: string, key: string) => (typeof content(type)[key] === 'string' ? (content(type)[key] as string) : undefined);
  return {
    room_id: roomId,
    num_joined_members: joined,
    world_readable: text('m.room.history_visibility', 'history_visibility') === 'world_readable',
    guest_can_join: text('m.room.guest_access', 'guest_access') === 'can_join',
    join_rule: text('m.room.join_rules', 'join_rule') ?? 'invite',
    name: text('m.room.name', 'name'),
    topic: text('m.room.topic', 'topic'),
    avatar_url: text('m.room.avatar', 'url'),
    canonical_alias: text('m.room.canonical_alias', 'alias'),
    room_type: text('m.room.create', 'type'),
  };
}

function parseOffset(token: string): number {
  if (!/^o\d{1,9}$/.test(token)) throw invalidParam(`since is not a directory pagination token: ${JSON.stringify(token.slice(0, 64))}`);
  return Number(token.slice(1));
}
