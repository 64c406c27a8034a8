import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { ErrCode, MatrixError } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { loginWithPassword } from '../../accounts/login.ts';
import { MAX_DEVICE_ID_LENGTH, MAX_DEVICE_NAME_LENGTH } from '../../accounts/sessions.ts';
import { loginAppserviceUser } from '../../appservices/appservice-accounts.ts';

const Identifier = z.looseObject({ type: z.string(), user: z.string().max(255).optional() });

const LoginBody = z.looseObject({
  type: z.string(),
  identifier: Identifier.optional(),
  user: z.string().max(255).optional(),
  password: z.string().max(1024).optional(),
  device_id: z.string().min(1).max(MAX_DEVICE_ID_LENGTH).optional(),
  initial_device_display_name: z.string().max(MAX_DEVICE_NAME_LENGTH).optional(),
  refresh_token: z.boolean().optional(),
});

export function mountLogin(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/login — the login types this server accepts. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/login', auth: 'none' }, () => ({
    flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }],
  }));

  /**
   * POST /_matrix/client/v3/login — `m.login.password` with an `m.id.user`
   * identifier or the legacy `user` field. Refresh tokens are not issued
   * (the spec lets a server ignore `refresh_token`). `m.login.application_service`
   * with an appservice's as_token logs in a user of its namespace.
   */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/login', auth: 'optional', appserviceTokenOnly: true, body: LoginBody }, async ({ app, caller, body, request }) => {
    if (body.type === 'm.login.application_service') {
      if (!caller?.appservice) throw new MatrixError(ErrCode.UNKNOWN_TOKEN, 'This login type needs an application service token', { status: 401 });
      if (body.identifier && body.identifier.type !== 'm.id.user') {
        throw new MatrixError(ErrCode.UNKNOWN, `Identifier type ${body.identifier.type} is not supported; log in with a user ID`, { status: 400 });
      }
      const user = body.identifier?.user ?? body.user;
      if (!user) throw new MatrixError(ErrCode.MISSING_PARAM, "Missing 'identifier.user'");
      const session = await loginAppserviceUser(app, caller.appservice, {
        user,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        ip: request.ip,
      });
      return { user_id: session.user_id, access_token: session.access_token, device_id: session.device_id, home_server: app.config.server_name };
    }
    if (body.type !== 'm.login.password') {
      throw new MatrixError(ErrCode.UNKNOWN, `Login type ${body.type} is not supported`, { status: 400 });
    }
    if (body.identifier && body.identifier.type !== 'm.id.user') {
      throw new MatrixError(ErrCode.UNKNOWN, `Identifier type ${body.identifier.type} is not supported; log in with your user ID`, { status: 400 });
    }
    const user = body.identifier?.user ?? body.user;
    if (!user) throw new MatrixError(ErrCode.MISSING_PARAM, "Missing 'identifier.user'");
    if (body.password === undefined) throw new MatrixError(ErrCode.MISSING_PARAM, "Missing 'password'");
    const session = await loginWithPassword(app, {
      user,
      password: body.password,
      deviceId: body.device_id,
      initialDeviceDisplayName: body.initial_device_display_name,
      ip: request.ip,
    });
    return {
      user_id: session.user_id,
      access_token: session.access_token,
      device_id: session.device_id,
      home_server: app.config.server_name,
      well_known: { 'm.homeserver': { base_url: app.config.public_baseurl.replace(/\/$/, '') } },
    };
  });
}
