import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { listChannelBots, setBotAllowed } from '../../channels/channel-bots.ts';

const PREFIX = '/_palisade/admin/v1';
const RoomParams = z.object({ roomId: z.string().min(2).max(255).startsWith('!') });
const BotParams = RoomParams.extend({ appserviceId: z.string().min(1).max(255) });

/** Which bots (appservices) a channel admits, for its admins and server admins (docs/admin-api.yaml). */
export function mountChannelBotAdmin(router: Router, app: AppContext): void {
  /** GET /channels/{roomId}/bots — every registered appservice: allowed, encryption support, its bots present. */
  route(router, app, { method: 'GET', path: `${PREFIX}/channels/:roomId/bots`, auth: 'user', params: RoomParams }, ({ app, caller, params }) =>
    listChannelBots(app, caller, params.roomId),
  );

  /** PUT /channels/{roomId}/bots/{appserviceId} — allow its bots. */
  route(router, app, { method: 'PUT', path: `${PREFIX}/channels/:roomId/bots/:appserviceId`, auth: 'user', params: BotParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    return { policy: await setBotAllowed(app, caller, params.roomId, params.appserviceId, true) };
  });

  /** DELETE /channels/{roomId}/bots/{appserviceId} — forbid its bots (refused while one is in the channel). */
  route(router, app, { method: 'DELETE', path: `${PREFIX}/channels/:roomId/bots/:appserviceId`, auth: 'user', params: BotParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    return { policy: await setBotAllowed(app, caller, params.roomId, params.appserviceId, false) };
  });
}
