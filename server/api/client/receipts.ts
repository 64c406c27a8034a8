import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { RECEIPT_TYPES, sendReceipt, setReadMarkers } from '../../rooms/receipts.ts';
import { EventId, RoomId } from './room-params.ts';

const ReceiptParams = z.object({ roomId: RoomId, receiptType: z.enum(RECEIPT_TYPES), eventId: EventId });
const ReceiptBody = z.looseObject({ thread_id: z.string().optional() });
const ReadMarkersBody = z.looseObject({ 'm.fully_read': EventId.optional(), 'm.read': EventId.optional(), 'm.read.private': EventId.optional() });

export function mountReceipts(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId} — joined members, visible events; `thread_id` for threaded receipts. */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/v3/rooms/:roomId/receipt/:receiptType/:eventId', auth: 'user', params: ReceiptParams, body: ReceiptBody },
    async ({ app, caller, params, body }) => {
      await app.rateLimits.ephemeral.consume(caller.userId);
      await sendReceipt(app, caller.userId, params.roomId, params.receiptType, params.eventId, body.thread_id);
      return {};
    },
  );

  /** POST /_matrix/client/v3/rooms/{roomId}/read_markers — the read marker and the (private) read receipt at once. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/rooms/:roomId/read_markers', auth: 'user', params: z.object({ roomId: RoomId }), body: ReadMarkersBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.ephemeral.consume(caller.userId);
    await setReadMarkers(app, caller.userId, params.roomId, body);
    return {};
  });
}
