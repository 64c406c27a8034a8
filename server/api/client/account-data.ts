import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { getAccountData, setAccountData } from '../../accounts/account-data.ts';
import { route } from '../../http/route.ts';
import { EventContent, EventType, RoomId, UserId } from './room-params.ts';

const GlobalParams = z.object({ userId: UserId, type: EventType });
const RoomParams = GlobalParams.extend({ roomId: RoomId });

export function mountAccountData(router: Router, app: AppContext): void {
  /** PUT /_matrix/client/v3/user/{userId}/account_data/{type} — one's own; not m.push_rules (405). */
  route(router, app, { method: 'PUT', path: '/_matrix/client/v3/user/:userId/account_data/:type', auth: 'user', params: GlobalParams, body: EventContent }, async ({ app, caller, params, body }) => {
    await setAccountData(app, caller.userId, { userId: params.userId, roomId: undefined, type: params.type }, body);
    return {};
  });

  /** GET /_matrix/client/v3/user/{userId}/account_data/{type} — one's own; 404 if never set. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/user/:userId/account_data/:type', auth: 'user', params: GlobalParams }, async ({ app, caller, params }) =>
    getAccountData(app, caller.userId, { userId: params.userId, roomId: undefined, type: params.type }),
  );

  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} — one's own; not m.fully_read (405: use read_markers). */
  route(
    router,
    app,
    { method: 'PUT', path: '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type', auth: 'user', params: RoomParams, body: EventContent },
    async ({ app, caller, params, body }) => {
      await setAccountData(app, caller.userId, { userId: params.userId, roomId: params.roomId, type: params.type }, body);
      return {};
    },
  );

  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type', auth: 'user', params: RoomParams }, async ({ app, caller, params }) =>
    getAccountData(app, caller.userId, { userId: params.userId, roomId: params.roomId, type: params.type }),
  );
}
