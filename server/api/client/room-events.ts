import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { invalidParam } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { consumeMessageRate } from '../../http/message-rate.ts';
import { massagedTimestamp, TimestampQuery } from '../../appservices/timestamp.ts';
import { DEFAULT_MESSAGES_LIMIT, eventContext, MAX_MESSAGES_LIMIT, paginateRoom } from '../../rooms/messages.ts';
import { sendEvent } from '../../rooms/persist-event.ts';
import { roomEvent } from '../../rooms/room-read.ts';
import { parseRoomEventFilter } from '../../rooms/room-event-filter.ts';
import { parseRoomPosition } from '../../sync/stream-token.ts';
import { EventContent, EventId, EventType, Reason, RoomId, TxnId } from './room-params.ts';

const SendParams = z.object({ roomId: RoomId, eventType: EventType, txnId: TxnId });
const RedactParams = z.object({ roomId: RoomId, eventId: EventId, txnId: TxnId });
const EventParams = z.object({ roomId: RoomId, eventId: EventId });
const MessagesQuery = z.object({
  from: z.string().max(128).optional(),
  to: z.string().max(128).optional(),
  dir: z.enum(['b', 'f']),
  limit: z.coerce.number().int().min(0).max(MAX_MESSAGES_LIMIT).default(DEFAULT_MESSAGES_LIMIT),
  filter: z.string().max(8192).optional(),
});

const ContextQuery = z.object({
  limit: z.coerce.number().int().min(0).max(MAX_MESSAGES_LIMIT).default(DEFAULT_MESSAGES_LIMIT),
  filter: z.string().max(8192).optional(),
});

export function mountRoomEvents(router: Router, app: AppContext): void {
  /**
   * PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}
   * Idempotent per (device, room, type, txnId): a replay returns the first event's ID. State
   * events go through the state endpoint; the auth rules decide who may send what.
   */
  route(router, app, { method: 'PUT', path: '/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId', auth: 'user', params: SendParams, query: TimestampQuery, body: EventContent }, async ({ app, caller, params, query, body }) => {
    if (params.eventType === 'm.room.redaction') throw invalidParam('Send redactions with PUT /rooms/{roomId}/redact/{eventId}/{txnId}');
    await consumeMessageRate(app, caller);
    const txn = { deviceId: caller.deviceId, txnId: params.txnId, scope: `send ${params.roomId} ${params.eventType}` };
    const event = await sendEvent(app, params.roomId, { sender: caller.userId, type: params.eventType, content: body, txn, originServerTs: massagedTimestamp(caller, query) });
    return { event_id: event.event_id };
  });

  /** PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId} — one's own events, or others' with the redact level. */
  route(
    router,
    app,
    { method: 'PUT', path: '/_matrix/client/v3/rooms/:roomId/redact/:eventId/:txnId', auth: 'user', params: RedactParams, body: z.looseObject({ reason: Reason }) },
    async ({ app, caller, params, body }) => {
      await consumeMessageRate(app, caller);
      const txn = { deviceId: caller.deviceId, txnId: params.txnId, scope: `redact ${params.roomId} ${params.eventId}` };
      const content = body.reason === undefined ? {} : { reason: body.reason };
      const event = await sendEvent(app, params.roomId, { sender: caller.userId, type: 'm.room.redaction', content, redacts: params.eventId, txn });
      return { event_id: event.event_id };
    },
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} — 404 for events the caller may not see. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/event/:eventId', auth: 'user', params: EventParams }, async ({ app, caller, params }) =>
    roomEvent(app, caller, params.roomId, params.eventId),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/context/{eventId} — the event and what surrounds it; 404 if the caller may not see it. */
  route(
    router,
    app,
    { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/context/:eventId', auth: 'user', params: EventParams, query: ContextQuery },
    async ({ app, caller, params, query }) => eventContext(app, caller, params.roomId, params.eventId, { limit: query.limit, filter: parseRoomEventFilter(query.filter) }),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/messages — a page of history the caller may see. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/messages', auth: 'user', params: z.object({ roomId: RoomId }), query: MessagesQuery }, async ({ app, caller, params, query }) =>
    paginateRoom(app, caller, params.roomId, {
      from: query.from === undefined ? undefined : parseRoomPosition(query.from, 'from'),
      to: query.to === undefined ? undefined : parseRoomPosition(query.to, 'to'),
      direction: query.dir,
      limit: query.limit,
      filter: parseRoomEventFilter(query.filter),
    }),
  );
}
