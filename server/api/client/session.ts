import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { removeAllDevices, removeDevices } from '../../accounts/sessions.ts';
import { announceDeviceListChange } from '../../e2ee/e2ee-streams.ts';

export function mountSession(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/account/whoami — the token's user and device. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/account/whoami', auth: 'user' }, ({ caller }) => ({
    user_id: caller.userId,
    // An appservice acting without a device (no MSC3202 device_id) has none to report.
    ...(caller.deviceId ? { device_id: caller.deviceId } : {}),
    is_guest: false,
  }));

  /** POST /_matrix/client/v3/logout — ends this session: the device and its tokens are deleted. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/logout', auth: 'user' }, async ({ app, caller }) => {
    await removeDevices(app.db, caller.userId, [caller.deviceId]);
    await announceDeviceListChange(app, [caller.userId]);
    return {};
  });

  /** POST /_matrix/client/v3/logout/all — ends every session of the user. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/logout/all', auth: 'user' }, async ({ app, caller }) => {
    await removeAllDevices(app.db, caller.userId);
    await announceDeviceListChange(app, [caller.userId]);
    return {};
  });
}
