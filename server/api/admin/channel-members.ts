import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { closeChannel } from '../../channels/channel-close.ts';
import { listChannels, MAX_CHANNELS_PAGE } from '../../channels/channel-listing.ts';
import { addChannelMember, listChannelMembers, MAX_MEMBERS_PAGE, MEMBERSHIPS, removeChannelMember, setChannelAdmin } from '../../channels/channel-members.ts';
import { ROOM_LISTING_ORDERS } from '../../storage/queries/room-listing.ts';

const PREFIX = '/_palisade/admin/v1';
const RoomParams = z.object({ roomId: z.string().min(2).max(255).startsWith('!') });
const MemberParams = RoomParams.extend({ userId: z.string().min(2).max(255).startsWith('@') });
const MAX_REASON = 500;
const MAX_SEARCH = 200;
const Offset = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0);

const ChannelsQuery = z.looseObject({
  search: z.string().min(1).max(MAX_SEARCH).optional(),
  order_by: z.enum(ROOM_LISTING_ORDERS).default('name'),
  dir: z.enum(['f', 'b']).default('f'),
  from: Offset,
  limit: z.coerce.number().int().positive().max(MAX_CHANNELS_PAGE).default(100),
  include_rooms: z.enum(['true', 'false']).default('false'),
});
const MembersQuery = z.looseObject({
  membership: z.enum(MEMBERSHIPS).optional(),
  from: Offset,
  limit: z.coerce.number().int().positive().max(MAX_MEMBERS_PAGE).default(100),
});
const AddMemberBody = z.strictObject({ user_id: z.string().min(2).max(255).startsWith('@'), force_join: z.boolean().default(false) });
const ReasonBody = z.strictObject({ reason: z.string().max(MAX_REASON).optional() });
const CloseBody = z.strictObject({ reason: z.string().max(MAX_REASON).optional(), purge: z.boolean().default(false) });

/**
 * The channel admin API's listing, members, channel admins and closing
 * (docs/admin-api.yaml). Listing all channels is for server admins; members
 * for a channel's moderators too; channel admins and closing for its admins.
 * Changes are rate limited like messages and each writes an audit entry.
 */
export function mountChannelMemberAdmin(router: Router, app: AppContext): void {
  /** GET /channels — search and page the organisation's channels (server admins). */
  route(router, app, { method: 'GET', path: `${PREFIX}/channels`, auth: 'admin', query: ChannelsQuery }, ({ app, query }) =>
    listChannels(app, { search: query.search, orderBy: query.order_by, dir: query.dir, from: query.from, limit: query.limit, includeRooms: query.include_rooms === 'true' }),
  );

  /** GET /channels/{roomId}/members — members with membership and power level. */
  route(router, app, { method: 'GET', path: `${PREFIX}/channels/:roomId/members`, auth: 'user', params: RoomParams, query: MembersQuery }, ({ app, caller, params, query }) =>
    listChannelMembers(app, caller, params.roomId, { membership: query.membership, from: query.from, limit: query.limit }),
  );

  /** POST /channels/{roomId}/members — invite someone, or (server admins) join a local user at once. */
  route(router, app, { method: 'POST', path: `${PREFIX}/channels/:roomId/members`, auth: 'user', params: RoomParams, body: AddMemberBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return addChannelMember(app, caller, params.roomId, body.user_id, body.force_join);
  });

  /** POST /channels/{roomId}/members/{userId}/remove — kick with a reason. */
  route(
    router,
    app,
    { method: 'POST', path: `${PREFIX}/channels/:roomId/members/:userId/remove`, auth: 'user', params: MemberParams, body: ReasonBody },
    async ({ app, caller, params, body }) => {
      await app.rateLimits.message.consume(caller.userId);
      await removeChannelMember(app, caller, params.roomId, params.userId, body.reason);
      return {};
    },
  );

  /** PUT /channels/{roomId}/admins/{userId} — make a joined member a channel admin (power level 100). */
  route(router, app, { method: 'PUT', path: `${PREFIX}/channels/:roomId/admins/:userId`, auth: 'user', params: MemberParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    return setChannelAdmin(app, caller, params.roomId, params.userId, true);
  });

  /** DELETE /channels/{roomId}/admins/{userId} — revoke channel admin (back to the default level). */
  route(router, app, { method: 'DELETE', path: `${PREFIX}/channels/:roomId/admins/:userId`, auth: 'user', params: MemberParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    return setChannelAdmin(app, caller, params.roomId, params.userId, false);
  });

  /** POST /channels/{roomId}/close — invite only, delisted, everyone removed; optionally the history purged. */
  route(router, app, { method: 'POST', path: `${PREFIX}/channels/:roomId/close`, auth: 'user', params: RoomParams, body: CloseBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return closeChannel(app, caller, params.roomId, { reason: body.reason, purge: body.purge });
  });
}
