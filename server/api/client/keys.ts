import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { uploadKeys } from '../../e2ee/key-upload.ts';
import { queryKeys } from '../../e2ee/key-query.ts';
import { claimKeys } from '../../e2ee/key-claim.ts';
import { keyChanges } from '../../e2ee/key-changes.ts';
import { announceDeviceListChange } from '../../e2ee/e2ee-streams.ts';
import { parseStreamToken } from '../../sync/stream-token.ts';
import { DeviceKeys, KeyObject, MAX_IDENTIFIER_LENGTH } from '../../e2ee/key-json.ts';

/** A /keys/upload with a thousand signed one-time keys is about 250 KiB. */
const MAX_KEY_UPLOAD_BYTES = 2 * 1024 * 1024;

const UserId = z.string().regex(/^@[^:]+:.+$/, 'expected a user ID such as @alice:example.org').max(MAX_IDENTIFIER_LENGTH);
const DeviceId = z.string().min(1).max(MAX_IDENTIFIER_LENGTH);

const KeyUploadBody = z.looseObject({
  device_keys: DeviceKeys.optional(),
  one_time_keys: z.record(z.string(), KeyObject).optional(),
  fallback_keys: z.record(z.string(), KeyObject).optional(),
});
const KeyQueryBody = z.looseObject({
  device_keys: z.record(UserId, z.array(DeviceId)),
  timeout: z.number().int().optional(),
});
const KeyClaimBody = z.looseObject({
  one_time_keys: z.record(UserId, z.record(DeviceId, z.string().min(1).max(MAX_IDENTIFIER_LENGTH))),
  timeout: z.number().int().optional(),
});
const KeyChangesQuery = z.object({ from: z.string().max(256), to: z.string().max(256) });

export function mountKeys(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/v3/keys/upload — the caller's device keys, one-time and fallback keys; returns one_time_key_counts.
   * New device keys wake the long-polls of everyone who shares a room with the caller (after commit).
   */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/v3/keys/upload', auth: 'user', body: KeyUploadBody, maxBodyBytes: MAX_KEY_UPLOAD_BYTES },
    async ({ app, caller, body }) => {
      const counts = await uploadKeys(app.db, caller.userId, caller.deviceId, body);
      if (body.device_keys) await announceDeviceListChange(app, [caller.userId]);
      return { one_time_key_counts: counts };
    },
  );

  /** POST /_matrix/client/v3/keys/query — device and cross-signing keys; other servers go in `failures`. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/keys/query', auth: 'user', body: KeyQueryBody }, async ({ app, caller, body }) =>
    queryKeys(app.db, caller.userId, app.config.server_name, body.device_keys),
  );

  /** POST /_matrix/client/v3/keys/claim — one key per device, each one-time key handed out at most once. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/keys/claim', auth: 'user', body: KeyClaimBody }, async ({ app, body }) =>
    claimKeys(app.db, app.config.server_name, body.one_time_keys),
  );

  /** GET /_matrix/client/v3/keys/changes?from&to — `from` and `to` are /sync tokens; the answer matches /sync's `device_lists` between them. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/keys/changes', auth: 'user', query: KeyChangesQuery }, async ({ app, caller, query }) =>
    keyChanges(app.db, caller.userId, parseStreamToken(query.from, 'from'), parseStreamToken(query.to, 'to')),
  );
}
