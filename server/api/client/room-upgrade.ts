import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { upgradeRoom } from '../../rooms/room-upgrade.ts';
import { RoomParams, UserId } from './room-params.ts';

const UpgradeBody = z.looseObject({
  new_version: z.string().min(1).max(32),
  // Only for room versions with additional creators (v12+), which this server does not offer yet: accepted and ignored.
  additional_creators: z.array(UserId).max(100).optional(),
});

export function mountRoomUpgrade(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/v3/rooms/{roomId}/upgrade — needs the tombstone level in the old room;
   * an unsupported version is M_UNSUPPORTED_ROOM_VERSION. All or nothing.
   */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/rooms/:roomId/upgrade', auth: 'user', params: RoomParams, body: UpgradeBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return { replacement_room: await upgradeRoom(app, caller.userId, params.roomId, body.new_version) };
  });
}
