import type { AppContext } from '../app-context.ts';
import { invalidParam } from '../errors.ts';
import { toClientEvents, type Viewer } from '../rooms/client-event.ts';
import { filterVisibleEvents } from '../rooms/visibility.ts';
import { findEvents } from '../storage/queries/events.ts';
import { notificationsOfUser, ownEventThreadsAfter } from '../storage/queries/push.ts';
import { readReceiptPositionsByThread } from '../storage/queries/unread.ts';

export const DEFAULT_NOTIFICATIONS_LIMIT = 20;
export const MAX_NOTIFICATIONS_LIMIT = 100;

/**
 * GET /notifications: the events the user's push rules said `notify` for,
 * newest first. `from` is the id of the last one returned (`n<id>`);
 * `read` compares the event with the user's read receipt in its room (or
 * their own later event, as unread counts do). Events the user may no
 * longer see (history visibility, a leave) are left out.
 */
export async function listNotifications(app: AppContext, viewer: Viewer, query: { from?: string; limit: number; onlyHighlight: boolean }) {
  const before = query.from === undefined ? undefined : parseFrom(query.from);
  const rows = await notificationsOfUser(app.db, viewer.userId, { before, limit: query.limit, onlyHighlight: query.onlyHighlight });
  const events = new Map((await findEvents(app.db, rows.map((row) => row.event_id))).map((row) => [row.event_id, row]));
  const isRead = new Map<string, (position: number, threadId: string) => boolean>();
  const visibleIds = new Set<string>();
  for (const roomId of new Set(rows.map((row) => row.room_id))) {
    isRead.set(roomId, await readCheckOf(app, roomId, viewer.userId));
    const roomEvents = rows.filter((row) => row.room_id === roomId).flatMap((row) => events.get(row.event_id) ?? []);
    for (const event of await filterVisibleEvents(app.db, viewer.userId, roomId, roomEvents)) visibleIds.add(event.event_id);
    // One's own invite is shown though the room's history is not (sync shows it too, as invite state).
    for (const event of roomEvents) if (event.type === 'm.room.member' && event.state_key === viewer.userId) visibleIds.add(event.event_id);
  }
  const shown = rows.filter((row) => visibleIds.has(row.event_id));
  const clientEvents = new Map((await toClientEvents(app.db, shown.map((row) => events.get(row.event_id)!), viewer)).map((event) => [event.event_id, event]));
  const last = rows.at(-1);
  return {
    notifications: shown.map((row) => ({
      actions: row.actions,
      event: clientEvents.get(row.event_id)!,
      read: isRead.get(row.room_id)!(row.stream_ordering, row.thread_id),
      room_id: row.room_id,
      ts: row.ts,
    })),
    ...(rows.length === query.limit && last ? { next_token: `n${last.id}` } : {}),
  };
}

/**
 * Whether the user has read a notification in this room, as unread counts
 * judge it: their unthreaded receipt or the receipt of its thread is at or
 * past it, or they wrote something later in its thread (in the main
 * timeline: anywhere).
 */
async function readCheckOf(app: AppContext, roomId: string, userId: string): Promise<(position: number, threadId: string) => boolean> {
  const receipts = await readReceiptPositionsByThread(app.db, roomId, userId);
  const unthreaded = receipts.get('') ?? 0;
  const ownLatest = new Map<string, number>();
  for (const own of await ownEventThreadsAfter(app.db, roomId, userId, unthreaded)) {
    ownLatest.set(own.thread_id, Math.max(ownLatest.get(own.thread_id) ?? 0, own.stream_ordering));
  }
  return (position, threadId) =>
    position <= Math.max(unthreaded, receipts.get(threadId) ?? 0, ownLatest.get('main') ?? 0, ownLatest.get(threadId) ?? 0);
}

function parseFrom(text: string): number {
  const match = /^n([1-9][0-9]{0,15})$/.exec(text);
  if (!match) throw invalidParam(`from is not a valid notifications token: ${JSON.stringify(text.slice(0, 64))}`);
  return Number(match[1]);
}
