import type { AppContext } from '../app-context.ts';
import type { ConnectionState } from './connection-state.ts';
import { MAX_REMEMBERED_SUBSCRIPTIONS } from './connection-state.ts';
import { resolveList, resolveSubscription, type RoomConfig, type RoomScopeJson, type SlidingList, type SlidingSyncBodyJson, type StoredRoomConfig } from './request.ts';
import { combineRequiredState } from './required-state.ts';
import { loadFilterData, windowOf, type CandidateRoom, type FilterData } from './room-list.ts';

/** Which rooms a request wants, with which config, and what the lists answer. */
export interface RoomSelection {
  lists: SlidingList[];
  /** Per list: `{count}`, as the response carries it. */
  counts: Record<string, { count: number }>;
  /** Per room: the room and its combined config (largest timeline limit, union of required state). */
  wanted: Map<string, { room: CandidateRoom; config: RoomConfig }>;
  /** The subscriptions the connection keeps (sticky until unsubscribed), newest last. */
  subscriptions: Record<string, StoredRoomConfig>;
  filterData: FilterData;
  /** Joined rooms a per-room extension with these `lists` / `rooms` selectors covers (`*`, the default, is all). */
  roomsFor: (selector: RoomScopeJson) => string[];
}

/**
 * Lists are filtered, ordered windows of the candidates; subscriptions name
 * rooms directly, and only rooms the user may see (the candidates) count. A
 * list or subscription that leaves out its room config keeps the one the
 * connection's previous request gave it.
 */
export async function selectRooms(app: AppContext, userId: string, body: SlidingSyncBodyJson, previous: ConnectionState | undefined, candidates: readonly CandidateRoom[]): Promise<RoomSelection> {
  const lists = Object.entries(body.lists ?? {}).map(([name, json]) => resolveList(name, json, previous?.lists[name]));
  const filterData = await loadFilterData(app, userId, candidates, lists);
  const configs = new Map<string, { room: CandidateRoom; configs: StoredRoomConfig[] }>();
  const want = (room: CandidateRoom, config: StoredRoomConfig) => {
    const entry = configs.get(room.roomId) ?? { room, configs: [] };
    entry.configs.push(config);
    configs.set(room.roomId, entry);
  };

  const counts: Record<string, { count: number }> = {};
  const listRooms = new Map<string, string[]>();
  for (const list of lists) {
    const window = windowOf(list, candidates, filterData);
    counts[list.key] = { count: window.count };
    listRooms.set(list.key, window.rooms.map((room) => room.roomId));
    for (const room of window.rooms) want(room, list.config);
  }

  const kept: Record<string, StoredRoomConfig> = { ...previous?.subscriptions };
  for (const roomId of body.unsubscribe_rooms ?? []) delete kept[roomId];
  for (const [roomId, json] of Object.entries(body.room_subscriptions ?? {})) {
    const config = resolveSubscription(roomId, json, kept[roomId]);
    delete kept[roomId];
    kept[roomId] = config;
  }
  const subscribed = Object.keys(kept).slice(-MAX_REMEMBERED_SUBSCRIPTIONS);
  const byId = new Map(candidates.map((room) => [room.roomId, room]));
  for (const roomId of subscribed) {
    const room = byId.get(roomId);
    if (room) want(room, kept[roomId]);
  }

  const wanted = new Map<string, { room: CandidateRoom; config: RoomConfig }>();
  for (const [roomId, entry] of configs) {
    wanted.set(roomId, {
      room: entry.room,
      config: { timelineLimit: Math.max(...entry.configs.map((config) => config.timeline_limit)), requiredState: combineRequiredState(entry.configs.map((config) => config.required_state)) },
    });
  }
  const joined = new Set([...wanted.values()].filter((entry) => entry.room.membership === 'join').map((entry) => entry.room.roomId));
  const roomsFor = (selector: RoomScopeJson): string[] => {
    const fromLists = selector.lists ?? ['*'];
    const fromRooms = selector.rooms ?? ['*'];
    const out = new Set<string>();
    for (const [name, ids] of listRooms) if (fromLists.includes('*') || fromLists.includes(name)) for (const id of ids) out.add(id);
    for (const id of subscribed) if (fromRooms.includes('*') || fromRooms.includes(id)) out.add(id);
    return [...out].filter((id) => joined.has(id));
  };
  return { lists, counts, wanted, subscriptions: Object.fromEntries(subscribed.map((roomId) => [roomId, kept[roomId]])), filterData, roomsFor };
}
