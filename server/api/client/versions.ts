import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';

/** Spec versions whose client-visible behaviour we implement for the endpoints we serve. */
const SUPPORTED_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'];

export function mountVersions(router: Router, app: AppContext): void {
  /** GET /_matrix/client/versions — no auth; lists spec versions and unstable features. */
  route(router, app, { method: 'GET', path: '/_matrix/client/versions', auth: 'optional' }, () => ({
    versions: SUPPORTED_VERSIONS,
    // org.matrix.simplified_msc3575: simplified sliding sync (MSC4186), which Element X requires.
    unstable_features: { 'org.matrix.msc3814': true, 'org.matrix.simplified_msc3575': true },
  }));

  /** GET /.well-known/matrix/client — where clients find the homeserver. */
  route(router, app, { method: 'GET', path: '/.well-known/matrix/client', auth: 'none' }, ({ app }) => ({
    'm.homeserver': { base_url: app.config.public_baseurl.replace(/\/$/, '') },
  }));

  /** GET /.well-known/matrix/server — delegation for federation (port 443 of the public host). */
  route(router, app, { method: 'GET', path: '/.well-known/matrix/server', auth: 'none' }, ({ app }) => {
    const url = new URL(app.config.public_baseurl);
    return { 'm.server': `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}` };
  });
}
