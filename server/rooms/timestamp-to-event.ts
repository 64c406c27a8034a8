import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import { eventsByTimestamp } from '../storage/queries/event-timestamps.ts';
import { requireReadableRoom } from './messages.ts';
import { filterVisibleEvents } from './visibility.ts';

/** Candidates read per round, and rounds before giving up: bounds the work on a room whose nearby history the caller may not see. */
const BATCH = 50;
const MAX_ROUNDS = 20;

/**
 * GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event: the visible event
 * closest to `ts` in direction `dir` (`f`: at or after, `b`: at or before).
 * 404 when there is none; 403 for someone who cannot read the room.
 */
export async function eventAtTimestamp(app: AppContext, userId: string, roomId: string, ts: number, dir: 'f' | 'b'): Promise<{ event_id: string; origin_server_ts: number }> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  await requireReadableRoom(app, userId, roomId);
  const direction = dir === 'f' ? 'forwards' : 'backwards';
  const upTo = app.roomEvents.currentPosition();
  let cursor: { ts: number; position: number } | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const rows = await eventsByTimestamp(app.db, { roomId, ts, direction, upTo, limit: BATCH, cursor });
    const [found] = await filterVisibleEvents(app.db, userId, roomId, rows);
    if (found) return { event_id: found.event_id, origin_server_ts: Number(found.origin_server_ts) };
    const last = rows.at(-1);
    if (!last || rows.length < BATCH) break;
    cursor = { ts: Number(last.origin_server_ts), position: Number(last.stream_ordering) };
  }
  throw notFound(`No event ${dir === 'f' ? 'at or after' : 'at or before'} ${ts} that you may see in room ${roomId}`);
}
