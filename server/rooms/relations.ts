import type { AppContext } from '../app-context.ts';
import { relatedEvents } from '../storage/queries/relations.ts';
import { formatRoomPosition } from '../sync/stream-token.ts';
import { toClientEvents, type ClientEvent, type Viewer } from './client-event.ts';
import { roomEvent } from './room-read.ts';
import { filterVisibleEvents } from './visibility.ts';

/**
 * GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]:
 * the events relating to a parent, newest first by default. Relations are
 * read from the events' own `m.relates_to` (see migration
 * 0005-relations-roomapi), so they exist as soon as the child is stored and
 * vanish when it is redacted. The parent must be visible to the caller (404
 * otherwise, so nothing leaks), and only children the caller may see are
 * returned. Tokens are room positions, so /messages and /sync tokens work too.
 */
export const DEFAULT_RELATIONS_LIMIT = 5;
export const MAX_RELATIONS_LIMIT = 100;
/** Spec: with `recurse`, servers SHOULD traverse at least 3 levels. */
export const RELATIONS_RECURSION_DEPTH = 3;

export interface RelationsQuery {
  relType?: string;
  eventType?: string;
  from?: number;
  to?: number;
  direction: 'b' | 'f';
  limit: number;
  recurse?: boolean;
}

export async function relationsOf(app: AppContext, viewer: Viewer, roomId: string, eventId: string, query: RelationsQuery) {
  await roomEvent(app, viewer, roomId, eventId);
  const newest = app.roomEvents.currentPosition();
  const backwards = query.direction === 'b';
  const start = query.from ?? (backwards ? newest : 0);
  const bounds = backwards
    ? { after: query.to ?? 0, upTo: Math.min(start, newest), direction: 'backwards' as const }
    : { after: start, upTo: Math.min(query.to ?? newest, newest), direction: 'forwards' as const };
  const depth = query.recurse ? RELATIONS_RECURSION_DEPTH : 1;
  const rows = await relatedEvents(app.db, { roomId, parentId: eventId, relType: query.relType, eventType: query.eventType, ...bounds, limit: query.limit, depth });
  const chunk: ClientEvent[] = await toClientEvents(app.db, await filterVisibleEvents(app.db, viewer.userId, roomId, rows), viewer);
  const last = rows.at(-1);
  const next = rows.length < query.limit || !last ? undefined : formatRoomPosition(backwards ? last.stream_ordering - 1 : last.stream_ordering);
  return {
    chunk,
    ...(next ? { next_batch: next } : {}),
    ...(query.from !== undefined ? { prev_batch: formatRoomPosition(query.from) } : {}),
    ...(query.recurse !== undefined ? { recursion_depth: depth } : {}),
  };
}
