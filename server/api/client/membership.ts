import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { resolveRoomIdOrAlias } from '../../rooms/aliases.ts';
import { changeMembershipOf, forgetRoom, joinRoom, knockRoom, leaveRoom, type MembershipAction } from '../../rooms/membership.ts';
import { membershipsOfUser } from '../../storage/queries/room-state.ts';
import { Reason, RoomParams, UserId } from './room-params.ts';

const TargetBody = z.looseObject({ user_id: UserId, reason: Reason });
const ReasonBody = z.looseObject({ reason: Reason });
const RoomOrAliasParams = z.object({ roomIdOrAlias: z.string().min(1).max(255) });

export function mountMembership(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/rooms/{roomId}/join — allowed by the join rules, or an invite. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/rooms/:roomId/join', auth: 'user', params: RoomParams, body: ReasonBody }, async ({ app, caller, params, body }) => {
    await joinRoom(app, caller.userId, params.roomId, body.reason, body);
    return { room_id: params.roomId };
  });

  /** POST /_matrix/client/v3/join/{roomIdOrAlias} — by room ID, or by one of this server's aliases. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/join/:roomIdOrAlias', auth: 'user', params: RoomOrAliasParams, body: ReasonBody }, async ({ app, caller, params, body }) => {
    const roomId = await resolveRoomIdOrAlias(app, params.roomIdOrAlias);
    await joinRoom(app, caller.userId, roomId, body.reason, body);
    return { room_id: roomId };
  });

  /** POST /_matrix/client/v3/knock/{roomIdOrAlias} — only where the join rule is `knock`; approved by an invite. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/knock/:roomIdOrAlias', auth: 'user', params: RoomOrAliasParams, body: ReasonBody }, async ({ app, caller, params, body }) => {
    const roomId = await resolveRoomIdOrAlias(app, params.roomIdOrAlias);
    await knockRoom(app, caller.userId, roomId, body.reason);
    return { room_id: roomId };
  });

  /** POST /_matrix/client/v3/rooms/{roomId}/leave — leave, or reject an invite. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/rooms/:roomId/leave', auth: 'user', params: RoomParams, body: ReasonBody }, async ({ app, caller, params, body }) => {
    await leaveRoom(app, caller.userId, params.roomId, body.reason);
    return {};
  });

  /** POST /_matrix/client/v3/rooms/{roomId}/forget — only after leaving. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/rooms/:roomId/forget', auth: 'user', params: RoomParams }, async ({ app, caller, params }) => {
    await forgetRoom(app, caller.userId, params.roomId);
    return {};
  });

  /** POST /rooms/{roomId}/invite|kick|ban|unban — the invite, kick or ban level, per the auth rules. */
  for (const action of ['invite', 'kick', 'ban', 'unban'] as const satisfies readonly MembershipAction[]) {
    route(
      router,
      app,
      { method: 'POST', path: `/_matrix/client/v3/rooms/:roomId/${action}`, auth: 'user', params: RoomParams, body: TargetBody },
      async ({ app, caller, params, body }) => {
        await changeMembershipOf(app, caller.userId, params.roomId, action, body.user_id, body.reason);
        return {};
      },
    );
  }

  /** GET /_matrix/client/v3/joined_rooms */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/joined_rooms', auth: 'user' }, async ({ app, caller }) => ({
    joined_rooms: (await membershipsOfUser(app.db, caller.userId, ['join'])).map((row) => row.room_id),
  }));
}
