import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { getPresence, PRESENCE_STATES, setPresence } from '../../accounts/presence.ts';
import { route } from '../../http/route.ts';
import { UserId } from './room-params.ts';

const PresenceParams = z.object({ userId: UserId });
const PresenceBody = z.looseObject({ presence: z.enum(PRESENCE_STATES), status_msg: z.string().optional() });

export function mountPresence(router: Router, app: AppContext): void {
  /** PUT /_matrix/client/v3/presence/{userId}/status — one's own presence and status message. */
  route(router, app, { method: 'PUT', path: '/_matrix/client/v3/presence/:userId/status', auth: 'user', params: PresenceParams, body: PresenceBody }, async ({ app, caller, params, body }) => {
    await setPresence(app, caller.userId, params.userId, body.presence, body.status_msg);
    return {};
  });

  /** GET /_matrix/client/v3/presence/{userId}/status — oneself, or a user sharing a room with the caller. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/presence/:userId/status', auth: 'user', params: PresenceParams }, ({ app, caller, params }) =>
    getPresence(app, caller.userId, params.userId),
  );
}
