import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { getProfile, getProfileField, PROFILE_FIELDS, setProfileField } from '../../accounts/profile.ts';
import { missingParam } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { UserId } from './room-params.ts';

const FieldParams = z.object({ userId: UserId, keyName: z.enum(PROFILE_FIELDS) });
const FieldBody = z.looseObject({ displayname: z.string().nullable().optional(), avatar_url: z.string().nullable().optional() });

export function mountProfile(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/profile/{userId} — public, as the spec has it (no access token needed). */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/profile/:userId', auth: 'optional', params: z.object({ userId: UserId }) }, ({ app, params }) =>
    getProfile(app, params.userId),
  );

  /** GET /_matrix/client/v3/profile/{userId}/{keyName} — displayname or avatar_url; 404 when unset. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/profile/:userId/:keyName', auth: 'optional', params: FieldParams }, ({ app, params }) =>
    getProfileField(app, params.userId, params.keyName),
  );

  /** PUT /_matrix/client/v3/profile/{userId}/{keyName} — one's own; carried to one's member event in every joined room. */
  route(router, app, { method: 'PUT', path: '/_matrix/client/v3/profile/:userId/:keyName', auth: 'user', params: FieldParams, body: FieldBody }, async ({ app, caller, params, body }) => {
    const value = body[params.keyName];
    if (value === undefined) throw missingParam(`The body must have the field ${params.keyName}`);
    await app.rateLimits.message.consume(caller.userId);
    await setProfileField(app, caller.userId, params.userId, params.keyName, value);
    return {};
  });

  /** DELETE /_matrix/client/v3/profile/{userId}/{keyName} — removes the field, as a PUT of nothing would. */
  route(router, app, { method: 'DELETE', path: '/_matrix/client/v3/profile/:userId/:keyName', auth: 'user', params: FieldParams }, async ({ app, caller, params }) => {
    await app.rateLimits.message.consume(caller.userId);
    await setProfileField(app, caller.userId, params.userId, params.keyName, null);
    return {};
  });
}
