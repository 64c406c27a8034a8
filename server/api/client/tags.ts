import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { roomTags, setRoomTag } from '../../accounts/room-tags.ts';
import { route } from '../../http/route.ts';
import { RoomId, UserId } from './room-params.ts';

const TagsParams = z.object({ userId: UserId, roomId: RoomId });
const TagParams = TagsParams.extend({ tag: z.string().min(1).max(1024) });
/** Spec: `order` is a number in [0, 1]; other fields are kept as given. */
const TagBody = z.looseObject({ order: z.number().min(0).max(1).optional() });

export function mountTags(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags — one's own. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/user/:userId/rooms/:roomId/tags', auth: 'user', params: TagsParams }, ({ app, caller, params }) =>
    roomTags(app, caller.userId, params.userId, params.roomId),
  );

  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag} */
  route(router, app, { method: 'PUT', path: '/_matrix/client/v3/user/:userId/rooms/:roomId/tags/:tag', auth: 'user', params: TagParams, body: TagBody }, async ({ app, caller, params, body }) => {
    await setRoomTag(app, caller.userId, params.userId, params.roomId, params.tag, body);
    return {};
  });

  /** DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag} — removing an absent tag succeeds. */
  route(router, app, { method: 'DELETE', path: '/_matrix/client/v3/user/:userId/rooms/:roomId/tags/:tag', auth: 'user', params: TagParams }, async ({ app, caller, params }) => {
    await setRoomTag(app, caller.userId, params.userId, params.roomId, params.tag, undefined);
    return {};
  });
}
