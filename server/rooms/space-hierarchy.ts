import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam } from '../errors.ts';
import { membershipsOfUser } from '../storage/queries/room-state.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { loadRoomPreview, mayPreview, summaryOf } from './room-preview.ts';

/**
 * GET /_matrix/client/v1/rooms/{roomId}/hierarchy: the space tree below a
 * room, depth first, through its `m.space.child` state (children without a
 * `via` list are not children). Only rooms this server knows are listed (no
 * federation), and only those the caller could see or join: joined or
 * invited, a public, knock or world-readable room, or a restricted room whose
 * allow list names a room they are in. Children are ordered by `order`, then
 * by when they were added, then by room ID, as the spec says. Each request
 * walks the tree again; the token is an offset with the walk's parameters.
 */
export const DEFAULT_HIERARCHY_LIMIT = 50;
export const MAX_HIERARCHY_LIMIT = 100;
export const MAX_HIERARCHY_DEPTH = 10;
/** Rooms visited per request at most, whatever the tree looks like. */
const MAX_ROOMS_WALKED = 1000;

export interface HierarchyQuery {
  suggestedOnly: boolean;
  maxDepth: number;
  limit: number;
  from?: string;
}

export async function spaceHierarchy(app: AppContext, userId: string, rootId: string, query: HierarchyQuery) {
  const offset = query.from === undefined ? 0 : parseToken(query.from, query);
  const joinedRooms = new Set((await membershipsOfUser(app.db, userId, ['join'])).map((row) => row.room_id));
  const root = await loadRoomPreview(app, rootId, ['m.space.child']);
  if (!root || !(await mayPreview(app, userId, root, joinedRooms))) throw forbidden(`You cannot view room ${rootId}`);

  const rooms: Array<Record<string, unknown>> = [];
  const visited = new Set<string>();
  const stack: Array<{ roomId: string; depth: number }> = [{ roomId: rootId, depth: 0 }];
  while (stack.length > 0 && visited.size < MAX_ROOMS_WALKED && rooms.length < offset + query.limit + 1) {
    const { roomId, depth } = stack.pop()!;
    if (visited.has(roomId)) continue;
    visited.add(roomId);
    const room = roomId === rootId ? root : await loadRoomPreview(app, roomId, ['m.space.child']);
    if (!room || !(await mayPreview(app, userId, room, joinedRooms))) continue;
    const children = childrenOf(room.state).filter((child) => !query.suggestedOnly || child.json.content.suggested === true);
    rooms.push({ ...(await summaryOf(app, room)), children_state: children.map(strippedChild) });
    if (depth < query.maxDepth) for (const child of [...children].reverse()) stack.push({ roomId: child.state_key ?? '', depth: depth + 1 });
  }
  const page = rooms.slice(offset, offset + query.limit);
  const more = rooms.length > offset + query.limit;
  return { rooms: page, ...(more ? { next_batch: formatToken(offset + query.limit, query) } : {}) };
}

/** Valid children (a non-empty `via`), in the spec's order: `order` (if a valid string), then timestamp, then room ID. */
function childrenOf(state: readonly EventRow[]): EventRow[] {
  const validOrder = (event: EventRow) => {
    const order = event.json.content.order;
    return typeof order === 'string' && order.length <= 50 && /^[\x20-\x7E]*$/.test(order) ? order : undefined;
  };
  return state
    .filter((event) => event.type === 'm.space.child' && Array.isArray(event.json.content.via) && event.json.content.via.length > 0)
    .sort((a, b) => {
      const [orderA, orderB] = [validOrder(a), validOrder(b)];
      if (orderA !== orderB) return orderA === undefined ? 1 : orderB === undefined ? -1 : orderA < orderB ? -1 : 1;
      if (a.origin_server_ts !== b.origin_server_ts) return Number(a.origin_server_ts) - Number(b.origin_server_ts);
      return (a.state_key ?? '') < (b.state_key ?? '') ? -1 : 1;
    });
}

function strippedChild(event: EventRow) {
  return { type: event.type, state_key: event.state_key ?? '', content: event.json.content, sender: event.sender, origin_server_ts: Number(event.origin_server_ts) };
}

function formatToken(offset: number, query: HierarchyQuery): string {
  return `h${offset}_${query.maxDepth}_${query.suggestedOnly ? 1 : 0}`;
}

/** Spec: `max_depth` and `suggested_only` may not change while paginating. */
function parseToken(token: string, query: HierarchyQuery): number {
  const match = /^h(\d{1,6})_(\d{1,2})_([01])$/.exec(token);
  if (!match) throw invalidParam(`from is not a hierarchy pagination token: ${JSON.stringify(token.slice(0, 64))}`);
  if (Number(match[2]) !== query.maxDepth || (match[3] === '1') !== query.suggestedOnly) throw invalidParam('suggested_only and max_depth cannot change while paginating');
  return Number(match[1]);
}
