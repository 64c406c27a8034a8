import type { AppContext } from '../app-context.ts';
import { findEvents } from '../storage/queries/events.ts';
import { threadRootsByActivity } from '../storage/queries/relations.ts';
import { formatRoomPosition } from '../sync/stream-token.ts';
import { toClientEvents, type Viewer } from './client-event.ts';
import { requireReadableRoom } from './messages.ts';
import { filterVisibleEvents } from './visibility.ts';

/**
 * GET /_matrix/client/v1/rooms/{roomId}/threads: thread roots, most recent
 * activity first, each with its bundled aggregations. `participated`: only
 * threads whose root or a reply the caller sent. The token is the position
 * of the last returned thread's latest reply, minus one, so a thread that
 * gets a new reply moves to the front rather than appearing twice.
 */
export const DEFAULT_THREADS_LIMIT = 20;
export const MAX_THREADS_LIMIT = 100;

export interface ThreadsQuery {
  include: 'all' | 'participated';
  from?: number;
  limit: number;
}

export async function threadRoots(app: AppContext, viewer: Viewer, roomId: string, query: ThreadsQuery) {
  await requireReadableRoom(app, viewer.userId, roomId);
  const upTo = app.roomEvents.currentPosition();
  const page = await threadRootsByActivity(app.db, {
    roomId,
    upTo,
    latestAtMost: Math.min(query.from ?? upTo, upTo),
    limit: query.limit,
    participant: query.include === 'participated' ? viewer.userId : undefined,
  });
  const roots = (await findEvents(app.db, page.map((row) => row.root_id))).filter((row) => row.room_id === roomId);
  const visible = new Map((await filterVisibleEvents(app.db, viewer.userId, roomId, roots)).map((row) => [row.event_id, row]));
  const ordered = page.map((row) => visible.get(row.root_id)).filter((row) => row !== undefined);
  const last = page.at(-1);
  return {
    chunk: await toClientEvents(app.db, ordered, viewer),
    ...(page.length === query.limit && last ? { next_batch: formatRoomPosition(last.latest - 1) } : {}),
  };
}
