import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { DEFAULT_RELATIONS_LIMIT, MAX_RELATIONS_LIMIT, relationsOf } from '../../rooms/relations.ts';
import { DEFAULT_THREADS_LIMIT, MAX_THREADS_LIMIT, threadRoots } from '../../rooms/threads.ts';
import { eventAtTimestamp } from '../../rooms/timestamp-to-event.ts';
import { parseRoomPosition } from '../../sync/stream-token.ts';
import { EventId, EventType, RoomId, RoomParams } from './room-params.ts';

const RELATIONS_BASE = '/_matrix/client/v1/rooms/:roomId/relations/:eventId';
const RelationsParams = z.object({ roomId: RoomId, eventId: EventId, relType: z.string().min(1).max(255).optional(), eventType: EventType.optional() });
const Token = z.string().max(128);
const Flag = z.enum(['true', 'false']).transform((value) => value === 'true');
const RelationsQuery = z.object({
  from: Token.optional(),
  to: Token.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_RELATIONS_LIMIT).default(DEFAULT_RELATIONS_LIMIT),
  dir: z.enum(['b', 'f']).default('b'),
  recurse: Flag.optional(),
});
const ThreadsQuery = z.object({
  include: z.enum(['all', 'participated']).default('all'),
  from: Token.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_THREADS_LIMIT).default(DEFAULT_THREADS_LIMIT),
});
const TimestampQuery = z.object({ ts: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER), dir: z.enum(['f', 'b']) });

/** Event relationships, threads and jumping to a date (spec: "Event relationships", "Threading", timestamp_to_event). */
export function mountRelations(router: Router, app: AppContext): void {
  /**
   * GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]
   * 404 when the caller may not see the parent; children filtered by visibility; `recurse` follows 3 levels.
   */
  route(
    router,
    app,
    { method: 'GET', path: [RELATIONS_BASE, `${RELATIONS_BASE}/:relType`, `${RELATIONS_BASE}/:relType/:eventType`], auth: 'user', params: RelationsParams, query: RelationsQuery },
    async ({ app, caller, params, query }) =>
      relationsOf(app, caller, params.roomId, params.eventId, {
        relType: params.relType,
        eventType: params.eventType,
        from: query.from === undefined ? undefined : parseRoomPosition(query.from, 'from'),
        to: query.to === undefined ? undefined : parseRoomPosition(query.to, 'to'),
        direction: query.dir,
        limit: query.limit,
        recurse: query.recurse,
      }),
  );

  /** GET /_matrix/client/v1/rooms/{roomId}/threads — thread roots by latest activity; 403 for those who cannot read the room. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v1/rooms/:roomId/threads', auth: 'user', params: RoomParams, query: ThreadsQuery }, async ({ app, caller, params, query }) =>
    threadRoots(app, caller, params.roomId, { include: query.include, limit: query.limit, from: query.from === undefined ? undefined : parseRoomPosition(query.from, 'from') }),
  );

  /** GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event — the closest visible event in a direction; 404 if none. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v1/rooms/:roomId/timestamp_to_event', auth: 'user', params: RoomParams, query: TimestampQuery }, async ({ app, caller, params, query }) =>
    eventAtTimestamp(app, caller.userId, params.roomId, query.ts, query.dir),
  );
}
