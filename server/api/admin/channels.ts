import type Router from '@koa/router';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { changeChannelPolicy, createChannel, readChannel } from '../../channels/channel-admin.ts';
import { channelAuditLog, MAX_AUDIT_PAGE } from '../../channels/channel-audit.ts';
import { ChannelPolicySchema } from '../../channels/channel-policy.ts';
import { decideJoinRequest, listJoinRequests } from '../../channels/join-requests.ts';

const PREFIX = '/_palisade/admin/v1';
/** The OpenAPI document kept in the repo, served as JSON so tools can read it. */
const OPENAPI_FILE = new URL('../../../docs/admin-api.yaml', import.meta.url);
const RoomParams = z.object({ roomId: z.string().min(2).max(255).startsWith('!') });
const RequestParams = RoomParams.extend({ userId: z.string().min(2).max(255).startsWith('@'), decision: z.enum(['approve', 'deny']) });
const MAX_NAME = 255;
const MAX_TOPIC = 1000;
const MAX_REASON = 500;

const CreateChannelBody = z.strictObject({
  name: z.string().max(MAX_NAME).optional(),
  topic: z.string().max(MAX_TOPIC).optional(),
  alias_localpart: z.string().min(1).max(200).optional(),
  policy: ChannelPolicySchema.partial().optional(),
});
const DecisionBody = z.strictObject({ reason: z.string().max(MAX_REASON).optional() });
const AuditQuery = z.looseObject({
  limit: z.coerce.number().int().positive().max(MAX_AUDIT_PAGE).default(100),
  before: z.coerce.number().int().positive().optional(),
});

/**
 * The channel admin web API (docs/admin-api.yaml). Creating channels is for
 * server admins; reading and changing one is for its channel admins too, and
 * join requests for its moderators (server/channels/channel-access.ts).
 * Everyone else gets 403 M_FORBIDDEN. Changes are rate limited like messages
 * and each writes an audit entry.
 */
export function mountChannelAdmin(router: Router, app: AppContext): void {
  let openapi: Promise<unknown> | undefined;
  /** GET /openapi.json — this API's description. */
  route(router, app, { method: 'GET', path: `${PREFIX}/openapi.json`, auth: 'none' }, () => {
    openapi ??= readFile(OPENAPI_FILE, 'utf8').then(
      (text) => parseYaml(text) as unknown,
      (error: unknown) => {
        openapi = undefined;
        throw error;
      },
    );
    return openapi;
  });

  /** POST /channels — a new channel with its policy (defaults: private, encrypted, invite only, no previews, forever, no bots). */
  route(router, app, { method: 'POST', path: `${PREFIX}/channels`, auth: 'admin', body: CreateChannelBody }, async ({ app, caller, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return createChannel(app, caller, body);
  });

  /** GET /channels/{roomId} — summary and policy. */
  route(router, app, { method: 'GET', path: `${PREFIX}/channels/:roomId`, auth: 'user', params: RoomParams }, ({ app, caller, params }) =>
    readChannel(app, caller, params.roomId),
  );

  /** PUT /channels/{roomId}/policy — change some or all of the policy; returns the policy in force. */
  route(
    router,
    app,
    { method: 'PUT', path: `${PREFIX}/channels/:roomId/policy`, auth: 'user', params: RoomParams, body: ChannelPolicySchema.partial() },
    async ({ app, caller, params, body }) => {
      await app.rateLimits.message.consume(caller.userId);
      return { policy: await changeChannelPolicy(app, caller, params.roomId, body) };
    },
  );

  /** GET /channels/{roomId}/join_requests — pending knocks. */
  route(router, app, { method: 'GET', path: `${PREFIX}/channels/:roomId/join_requests`, auth: 'user', params: RoomParams }, async ({ app, caller, params }) => ({
    join_requests: await listJoinRequests(app, caller, params.roomId),
  }));

  /** POST /channels/{roomId}/join_requests/{userId}/{approve|deny} — invite, or kick with the reason. */
  route(
    router,
    app,
    { method: 'POST', path: `${PREFIX}/channels/:roomId/join_requests/:userId/:decision`, auth: 'user', params: RequestParams, body: DecisionBody },
    async ({ app, caller, params, body }) => {
      await app.rateLimits.message.consume(caller.userId);
      await decideJoinRequest(app, caller, params.roomId, params.userId, params.decision, body.reason);
      return {};
    },
  );

  /** GET /channels/{roomId}/audit — who changed what and when, newest first. */
  route(router, app, { method: 'GET', path: `${PREFIX}/channels/:roomId/audit`, auth: 'user', params: RoomParams, query: AuditQuery }, ({ app, caller, params, query }) =>
    channelAuditLog(app, caller, params.roomId, query.limit, query.before),
  );
}
