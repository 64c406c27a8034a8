import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { DEFAULT_ROOM_VERSION, SUPPORTED_ROOM_VERSIONS } from '../../rooms/room-versions.ts';

export function mountCapabilities(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/capabilities — what this server lets the caller do. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/capabilities', auth: 'user' }, () => ({
    capabilities: {
      'm.change_password': { enabled: true },
      'm.room_versions': {
        default: DEFAULT_ROOM_VERSION,
        available: Object.fromEntries(SUPPORTED_ROOM_VERSIONS.map((version) => [version, 'stable'])),
      },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: false },
      'm.get_login_token': { enabled: false },
    },
  }));
}
