import { receiptsBetween } from '../../storage/queries/receipts.ts';
import type { ReceiptRow } from '../../storage/tables/user-data.ts';
import type { StreamProvider } from './provider.ts';
import { unreadSections } from '../unread-counts.ts';
import { emptyTimelinePrevBatch, ignoredUsers, joinedRoomIds, unreadSetup } from './request-scope.ts';

/** Private read receipts are shown only to the user who sent them. */
export const PRIVATE_RECEIPT_TYPES = new Set(['m.read.private']);

export type ReceiptContent = Record<string, Record<string, Record<string, { ts: number; thread_id?: string }>>>;

/**
 * Read receipts, as one `m.receipt` event per joined room in its `ephemeral`:
 * every receipt on an initial sync, those that moved since the token on an
 * incremental one. Others' private receipts and receipts of ignored users are
 * left out.
 */
export const receiptsProvider: StreamProvider = {
  name: 'receipt',
  latest: (app) => app.receiptStream.currentPosition(),
  // Receipts in the range, and unread counts moved by the user's own receipt; counts moved by new events come with the room stream.
  dependsOn: ['receipt'],
  async collect(app, request, response) {
    if (!request.filter.ephemeralTypes('m.receipt')) return;
    const rooms = await joinedRoomIds(app, request);
    const rows = await receiptsBetween(app.db, rooms, request.since?.receipt, request.upTo.receipt);
    if (rows.length === 0) return;
    const ignored = await ignoredUsers(app, request);
    const byRoom = new Map<string, ReceiptContent[]>();
    for (const row of rows) {
      if (PRIVATE_RECEIPT_TYPES.has(row.receipt_type) && row.user_id !== request.userId) continue;
      if (ignored.has(row.user_id)) continue;
      let contents = byRoom.get(row.room_id);
      if (!contents) byRoom.set(row.room_id, (contents = []));
      addReceiptWithoutOverwriting(contents, row);
    }
    for (const [roomId, contents] of byRoom) {
      for (const content of contents) response.joinedRoom(roomId, emptyTimelinePrevBatch(request)).ephemeral.events.push({ type: 'm.receipt', content });
    }
    // The user's own receipt moved (perhaps from another device): the room's unread counts changed with it.
    for (const roomId of new Set(rows.filter((row) => row.user_id === request.userId).map((row) => row.room_id))) {
      const unread = await unreadSections(app.db, roomId, request.upTo.room, await unreadSetup(app, request), request.filter.unreadThreadNotifications);
      Object.assign(response.joinedRoom(roomId, emptyTimelinePrevBatch(request)), unread);
    }
  },
};

/**
 * One user's receipts of one type on one event in several threads (say an
 * unthreaded one and a threaded one) cannot share a content object: each
 * goes into the first `m.receipt` that has no receipt there yet (spec issue
 * 1727; Complement's TestThreadReceiptsInSync).
 */
export function addReceiptWithoutOverwriting(contents: ReceiptContent[], row: ReceiptRow): void {
  let content = contents.find((candidate) => candidate[row.event_id]?.[row.receipt_type]?.[row.user_id] === undefined);
  if (!content) contents.push((content = {}));
  addReceipt(content, row);
}

export function addReceipt(content: ReceiptContent, row: ReceiptRow): void {
  const byType = (content[row.event_id] ??= {});
  const byUser = (byType[row.receipt_type] ??= {});
  byUser[row.user_id] = { ts: Number(row.ts), ...(row.thread_id === '' ? {} : { thread_id: row.thread_id }) };
}
