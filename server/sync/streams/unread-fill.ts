import type { AppContext } from '../../app-context.ts';
import type { SyncResponseBuilder } from '../sync-response.ts';
import { unreadSections } from '../unread-counts.ts';
import type { SyncRequest } from './provider.ts';
import { unreadSetup } from './request-scope.ts';

/**
 * Every joined room in a response carries its unread counts, also when only
 * a receipt, typing or account data brought it in: clients read a room
 * section without `unread_thread_notifications` as "no thread has anything
 * unread" (matrix-js-sdk resets its thread counts), so leaving them out would
 * wipe what the client showed.
 */
export async function fillUnreadCounts(app: AppContext, request: SyncRequest, response: SyncResponseBuilder): Promise<void> {
  for (const [roomId, room] of response.join) {
    if (room.unread_notifications !== undefined) continue;
    Object.assign(room, await unreadSections(app.db, roomId, request.upTo.room, await unreadSetup(app, request), request.filter.unreadThreadNotifications));
  }
}
