import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { signJson } from '../../rooms/signing.ts';

/** Other servers may cache our key this long before asking again. */
const KEY_VALIDITY_MS = 24 * 60 * 60 * 1000;

export function mountKeyServer(router: Router, app: AppContext): void {
  /** GET /_matrix/key/v2/server — our ed25519 verify key, self-signed. */
  route(router, app, { method: 'GET', path: '/_matrix/key/v2/server', auth: 'none' }, ({ app }) =>
    signJson(
      {
        server_name: app.config.server_name,
        valid_until_ts: Date.now() + KEY_VALIDITY_MS,
        verify_keys: { [app.signingKey.keyId]: { key: app.signingKey.publicKeyBase64 } },
        old_verify_keys: {},
      },
      app.config.server_name,
      app.signingKey,
    ),
  );
}
