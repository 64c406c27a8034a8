import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { ErrCode, MatrixError, forbidden } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { assertUsernameAvailable, registerAccount } from '../../accounts/registration.ts';
import { registrationFlows } from '../../accounts/registration-policy.ts';
import { finishUia, requireUia, UiaAuth } from '../../accounts/uia.ts';
import { MAX_DEVICE_ID_LENGTH, MAX_DEVICE_NAME_LENGTH } from '../../accounts/sessions.ts';
import { findRegistrationToken, isRegistrationTokenUsable } from '../../storage/queries/registration-tokens.ts';
import { registerAppserviceUser } from '../../appservices/appservice-accounts.ts';

const APPSERVICE_LOGIN_TYPE = 'm.login.application_service';

const RegisterBody = z.looseObject({
  /** `m.login.application_service` (with the appservice's as_token) registers a user in its namespace. */
  type: z.string().max(255).optional(),
  // No length cap here: validateNewLocalpart refuses a long one with M_INVALID_USERNAME (the body limit bounds it).
  username: z.string().optional(),
  password: z.string().max(1024).optional(),
  device_id: z.string().min(1).max(MAX_DEVICE_ID_LENGTH).optional(),
  initial_device_display_name: z.string().max(MAX_DEVICE_NAME_LENGTH).optional(),
  inhibit_login: z.boolean().optional(),
  refresh_token: z.boolean().optional(),
  auth: UiaAuth.optional(),
});

const RegisterQuery = z.looseObject({ kind: z.enum(['user', 'guest']).default('user') });

export function mountRegister(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/v3/register — closed unless `enable_registration`;
   * user-interactive auth with `m.login.dummy` or `m.login.registration_token`.
   * The username is checked before any stage is spent on it. An appservice
   * (as_token, type `m.login.application_service`) registers users in its
   * namespace without UIA and without the registration rate limit.
   */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/v3/register', auth: 'optional', appserviceRegisters: true, query: RegisterQuery, body: RegisterBody },
    async ({ app, caller, query, body, request }) => {
      if (body.type === APPSERVICE_LOGIN_TYPE || caller?.appservice) {
        if (!caller) throw new MatrixError(ErrCode.MISSING_TOKEN, 'Registering as an application service needs its as_token', { status: 401 });
        if (!caller.appservice) throw new MatrixError(ErrCode.UNKNOWN_TOKEN, 'This access token is not an application service token', { status: 401 });
        if (body.type !== APPSERVICE_LOGIN_TYPE) throw new MatrixError(ErrCode.MISSING_PARAM, `An application service registers with type ${APPSERVICE_LOGIN_TYPE}`);
        const result = await registerAppserviceUser(app, caller.appservice, {
          username: body.username,
          inhibitLogin: body.inhibit_login,
          deviceId: body.device_id,
          initialDeviceDisplayName: body.initial_device_display_name,
          ip: request.ip,
        });
        return { ...result, home_server: app.config.server_name };
      }
      await app.rateLimits.registration.consume(request.ip);
      if (query.kind === 'guest') throw new MatrixError(ErrCode.GUEST_ACCESS_FORBIDDEN, 'Guest access is disabled on this server');
      if (!app.config.enable_registration) throw forbidden('Registration has been disabled on this server');
      // Capitals are folded, as Synapse does, so `Alice` registers `@alice`.
      const username = body.username?.toLowerCase();
      if (username !== undefined) await assertUsernameAvailable(app, username);
      if (body.password === undefined && body.auth?.type) throw new MatrixError(ErrCode.MISSING_PARAM, "Missing 'password'");

      const uia = await requireUia(app, { requestKey: 'POST /register', flows: registrationFlows(app.config), auth: body.auth });
      const result = await registerAccount(app, {
        username,
        password: body.password,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        inhibitLogin: body.inhibit_login,
        registrationToken: uia.results.registration_token as string | undefined,
        ip: request.ip,
      });
      await finishUia(app, uia.sessionId);
      return { ...result, home_server: app.config.server_name };
    },
  );

  /** GET /_matrix/client/v3/register/available — is this username free and valid? */
  route(
    router,
    app,
    { method: 'GET', path: '/_matrix/client/v3/register/available', auth: 'none', query: z.looseObject({ username: z.string() }) },
    async ({ app, query, request }) => {
      await app.rateLimits.registration.consume(request.ip);
      await assertUsernameAvailable(app, query.username.toLowerCase());
      return { available: true };
    },
  );

  /** GET /_matrix/client/v1/register/m.login.registration_token/validity — may this token still be used? */
  route(
    router,
    app,
    {
      method: 'GET',
      path: '/_matrix/client/v1/register/m.login.registration_token/validity',
      auth: 'none',
      query: z.looseObject({ token: z.string().max(64) }),
    },
    async ({ app, query, request }) => {
      await app.rateLimits.registration.consume(request.ip);
      if (!app.config.registration_requires_token) throw forbidden('Registration tokens are not enabled on this server');
      const row = await findRegistrationToken(app.db, query.token);
      return { valid: row !== undefined && isRegistrationTokenUsable(row, Date.now()) };
    },
  );
}
