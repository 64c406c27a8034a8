import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { changePassword, deactivateAccount } from '../../accounts/account.ts';
import { finishUia, requireUia, UiaAuth } from '../../accounts/uia.ts';
import { announceDeviceListChange } from '../../e2ee/e2ee-streams.ts';

const PASSWORD_FLOWS = [['m.login.password']];

const PasswordBody = z.looseObject({
  new_password: z.string().max(1024),
  logout_devices: z.boolean().default(true),
  auth: UiaAuth.optional(),
});

const DeactivateBody = z.looseObject({
  auth: UiaAuth.optional(),
  erase: z.boolean().optional(),
  id_server: z.string().optional(),
});

export function mountAccount(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/account/password — behind UIA (current password); other devices logged out by default. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/account/password', auth: 'user', body: PasswordBody }, async ({ app, caller, body }) => {
    const uia = await requireUia(app, { requestKey: 'POST /account/password', flows: PASSWORD_FLOWS, userId: caller.userId, auth: body.auth });
    await changePassword(app, caller.userId, { newPassword: body.new_password, logoutDevices: body.logout_devices, keepDeviceId: caller.deviceId });
    await finishUia(app, uia.sessionId);
    if (body.logout_devices) await announceDeviceListChange(app, [caller.userId]);
    return {};
  });

  /** POST /_matrix/client/v3/account/deactivate — behind UIA; permanent. We hold no 3PIDs, so nothing to unbind. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/account/deactivate', auth: 'user', body: DeactivateBody }, async ({ app, caller, body }) => {
    const uia = await requireUia(app, { requestKey: 'POST /account/deactivate', flows: PASSWORD_FLOWS, userId: caller.userId, auth: body.auth });
    await deactivateAccount(app, caller.userId);
    await finishUia(app, uia.sessionId);
    await announceDeviceListChange(app, [caller.userId]);
    return { id_server_unbind_result: 'no-support' };
  });

  /** GET /_matrix/client/v3/account/3pid — this server does not bind e-mail or phone numbers. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/account/3pid', auth: 'user' }, () => ({ threepids: [] }));
}
