import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { createRegistrationToken, deleteToken, expireToken, listTokens, requireRegistrationToken, tokenJson, updateToken } from '../../admin/registration-tokens.ts';
import { ExpiryTime, QueryBoolean, TokenParams, UsesAllowed } from './admin-params.ts';

const BASE = '/_palisade/admin/v1/registration_tokens';
/** A bound on what is read at all; the domain refuses anything past 64 characters. */
const MAX_TOKEN_BODY_LENGTH = 1024;

/** Types here (M_BAD_JSON); what a value may be is the domain's check (M_INVALID_PARAM, as Synapse answers). */
export const NewTokenBody = z.strictObject({
  token: z.string().max(MAX_TOKEN_BODY_LENGTH).optional(),
  uses_allowed: UsesAllowed.optional(),
  expiry_time: ExpiryTime.optional(),
  length: z.number().int().optional(),
});
export const TokenChangesBody = z.strictObject({ uses_allowed: UsesAllowed.optional(), expiry_time: ExpiryTime.optional() });
export const TokenListQuery = z.looseObject({ valid: QueryBoolean.optional() });

/**
 * Registration tokens in the Palisade admin API, server admins only; changes
 * rate limited and audited. Same logic as the Synapse-compatible routes.
 */
export function mountRegistrationTokenAdmin(router: Router, app: AppContext): void {
  /** GET /registration_tokens?valid= — all, or only the usable (true) or unusable (false) ones. */
  route(router, app, { method: 'GET', path: BASE, auth: 'admin', query: TokenListQuery }, ({ app, query }) => listTokens(app, query.valid));

  /** POST /registration_tokens — a token, given or generated (`length`, 16 by default). */
  route(router, app, { method: 'POST', path: BASE, auth: 'admin', body: NewTokenBody }, async ({ app, caller, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return tokenJson(await createRegistrationToken(app, caller.userId, body));
  });

  route(router, app, { method: 'GET', path: `${BASE}/:token`, auth: 'admin', params: TokenParams }, async ({ app, params }) =>
    tokenJson(await requireRegistrationToken(app, params.token)),
  );

  /** PUT /registration_tokens/{token} — change uses_allowed and/or expiry_time (null: unlimited / never). */
  route(router, app, { method: 'PUT', path: `${BASE}/:token`, auth: 'admin', params: TokenParams, body: TokenChangesBody }, async ({ app, caller, params, body }) => {
    await app.rateLimits.message.consume(caller.userId);
    return tokenJson(await updateToken(app, caller.userId, params.token, body));
  });

  /** POST /registration_tokens/{token}/expire — unusable from now on, kept for the record. */
  route(router, app, { method: 'POST', path: `${BASE}/:token/expire`, auth: 'admin', params: TokenParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    return tokenJson(await expireToken(app, caller.userId, params.token));
  });

  route(router, app, { method: 'DELETE', path: `${BASE}/:token`, auth: 'admin', params: TokenParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    await deleteToken(app, caller.userId, params.token);
    return {};
  });
}
