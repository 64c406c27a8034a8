import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { signJson } from '../../rooms/signing.ts';

/** Other servers may cache our key this long before asking again. */
const KEY_VALIDITY_MS = 24 * 60 * 60 * 1000;

/** Servers one batch key query may name. */
const MAX_QUERIED_SERVERS = 100;
const SERVER_NAME = z.string().min(1).max(255);
const KEY_ID = z.string().min(1).max(255);

const KeyQueryBody = z.object({
  server_keys: z
    .record(SERVER_NAME, z.record(KEY_ID, z.object({ minimum_valid_until_ts: z.number().int().optional() }).passthrough()))
    .refine((servers) => Object.keys(servers).length <= MAX_QUERIED_SERVERS, { message: `at most ${MAX_QUERIED_SERVERS} servers` }),
});

export function mountKeyServer(router: Router, app: AppContext): void {
  /** GET /_matrix/key/v2/server — our ed25519 verify key, self-signed. */
  route(router, app, { method: 'GET', path: '/_matrix/key/v2/server', auth: 'none' }, ({ app }) => ownKeys(app));

  /**
   * The notary endpoints, answering only for this server (there is no
   * federation, so no other server's keys are known): a server not known is
   * left out of `server_keys`, which the spec allows. Having the paths also
   * makes another method on them 405, as Complement checks.
   */
  route(router, app, { method: 'POST', path: '/_matrix/key/v2/query', auth: 'none', body: KeyQueryBody }, ({ app, body }) => ({
    server_keys: app.config.server_name in body.server_keys ? [ownKeys(app)] : [],
  }));
  route(router, app, { method: 'GET', path: '/_matrix/key/v2/query/:serverName', auth: 'none', params: z.object({ serverName: SERVER_NAME }) }, ({ app, params }) => ({
    server_keys: params.serverName === app.config.server_name ? [ownKeys(app)] : [],
  }));
}

function ownKeys(app: AppContext) {
  return signJson(
    {
      server_name: app.config.server_name,
      valid_until_ts: Date.now() + KEY_VALIDITY_MS,
      verify_keys: { [app.signingKey.keyId]: { key: app.signingKey.publicKeyBase64 } },
      old_verify_keys: {},
    },
    app.config.server_name,
    app.signingKey,
  );
}
