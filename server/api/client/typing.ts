import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { setTyping } from '../../rooms/typing.ts';
import { RoomId, UserId } from './room-params.ts';

const TypingBody = z.looseObject({ typing: z.boolean(), timeout: z.number().int().min(0).optional() });

export function mountTyping(router: Router, app: AppContext): void {
  /** PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId} — oneself, in a joined room; the timeout is capped at 30 s. */
  route(
    router,
    app,
    { method: 'PUT', path: '/_matrix/client/v3/rooms/:roomId/typing/:userId', auth: 'user', params: z.object({ roomId: RoomId, userId: UserId }), body: TypingBody },
    async ({ app, caller, params, body }) => {
      await app.rateLimits.ephemeral.consume(caller.userId);
      await setTyping(app, caller.userId, params.roomId, params.userId, body.typing, body.timeout);
      return {};
    },
  );
}
