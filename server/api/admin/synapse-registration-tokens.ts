import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { createRegistrationToken, deleteToken, listTokens, requireRegistrationToken, tokenJson, updateToken } from '../../admin/registration-tokens.ts';
import { TokenParams } from './admin-params.ts';
import { NewTokenBody, TokenChangesBody, TokenListQuery } from './registration-tokens.ts';

const BASE = '/_synapse/admin/v1/registration_tokens';
// Synapse ignores fields it does not know; so do these paths, for scripts written against it.
const SynapseNewTokenBody = z.looseObject(NewTokenBody.shape);
const SynapseTokenChangesBody = z.looseObject(TokenChangesBody.shape);

/** Synapse's registration token admin API, the same logic and audit as /_palisade/admin/v1/registration_tokens. */
export function mountSynapseRegistrationTokens(router: Router, app: AppContext): void {
  route(router, app, { method: 'GET', path: BASE, auth: 'admin', query: TokenListQuery }, ({ app, query }) => listTokens(app, query.valid));

  route(router, app, { method: 'POST', path: `${BASE}/new`, auth: 'admin', body: SynapseNewTokenBody }, async ({ app, caller, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return tokenJson(await createRegistrationToken(app, caller.userId, body));
  });

  route(router, app, { method: 'GET', path: `${BASE}/:token`, auth: 'admin', params: TokenParams }, async ({ app, params }) =>
    tokenJson(await requireRegistrationToken(app, params.token)),
  );

  route(router, app, { method: 'PUT', path: `${BASE}/:token`, auth: 'admin', params: TokenParams, body: SynapseTokenChangesBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return tokenJson(await updateToken(app, caller.userId, params.token, body));
  });

  route(router, app, { method: 'DELETE', path: `${BASE}/:token`, auth: 'admin', params: TokenParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    await deleteToken(app, caller.userId, params.token);
    return {};
  });
}
