import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { consumeMessageRate } from '../../http/message-rate.ts';
import { massagedTimestamp, TimestampQuery } from '../../appservices/timestamp.ts';
import { assertCanonicalAliasesPointHere } from '../../rooms/aliases.ts';
import { sendEvent } from '../../rooms/persist-event.ts';
import { unchangedStateEventId } from '../../rooms/repeated-state.ts';
import { withoutNeedlessAuthoriser } from '../../rooms/restricted-join.ts';
import { joinedMemberProfiles, roomMembers, roomState, roomStateEvent } from '../../rooms/room-read.ts';
import { parseRoomPosition } from '../../sync/stream-token.ts';
import { EventContent, EventType, RoomId, RoomParams } from './room-params.ts';

const StateParams = z.object({ roomId: RoomId, eventType: EventType, stateKey: z.string().max(255).default('') });
const STATE_PATHS = ['/_matrix/client/v3/rooms/:roomId/state/:eventType', '/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey'];
const MembersQuery = z.object({
  at: z.string().max(128).optional(),
  membership: z.enum(['join', 'invite', 'knock', 'leave', 'ban']).optional(),
  not_membership: z.enum(['join', 'invite', 'knock', 'leave', 'ban']).optional(),
});

export function mountRoomState(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/rooms/{roomId}/state — current state for members, as of the leave for former members. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/state', auth: 'user', params: RoomParams }, async ({ app, caller, params }) =>
    roomState(app, caller, params.roomId),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} — the content only (`?format=event`: the event). */
  route(
    router,
    app,
    { method: 'GET', path: STATE_PATHS, auth: 'user', params: StateParams, query: z.object({ format: z.enum(['content', 'event']).default('content') }) },
    async ({ app, caller, params, query }) => {
      const event = await roomStateEvent(app, caller, params.roomId, { type: params.eventType, state_key: params.stateKey });
      return query.format === 'event' ? event : event.content;
    },
  );

  /** PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} — the state level for that type, per the auth rules. */
  route(router, app, { method: 'PUT', path: STATE_PATHS, auth: 'user', params: StateParams, query: TimestampQuery, body: EventContent }, async ({ app, caller, params, query, body }) => {
    await consumeMessageRate(app, caller);
    const originServerTs = massagedTimestamp(caller, query);
    if (params.eventType === 'm.room.canonical_alias') await assertCanonicalAliasesPointHere(app, params.roomId, body);
    const content = params.eventType === 'm.room.member' && params.stateKey === caller.userId ? await withoutNeedlessAuthoriser(app, params.roomId, caller.userId, body) : body;
    const unchanged = await unchangedStateEventId(app, params.roomId, caller.userId, params.eventType, params.stateKey, content);
    if (unchanged) return { event_id: unchanged };
    const event = await sendEvent(app, params.roomId, { sender: caller.userId, type: params.eventType, stateKey: params.stateKey, content, originServerTs });
    return { event_id: event.event_id };
  });

  /** GET /_matrix/client/v3/rooms/{roomId}/members — member events, filtered by membership, optionally as of a token. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/members', auth: 'user', params: RoomParams, query: MembersQuery }, async ({ app, caller, params, query }) => ({
    chunk: await roomMembers(app, caller, params.roomId, {
      membership: query.membership,
      notMembership: query.not_membership,
      at: query.at === undefined ? undefined : parseRoomPosition(query.at, 'at'),
    }),
  }));

  /** GET /_matrix/client/v3/rooms/{roomId}/joined_members — members only. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/rooms/:roomId/joined_members', auth: 'user', params: RoomParams }, async ({ app, caller, params }) => ({
    joined: await joinedMemberProfiles(app, caller, params.roomId),
  }));
}
