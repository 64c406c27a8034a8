import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { createRegistrationNonce, registerWithSharedSecret } from '../../accounts/shared-secret.ts';

const SharedSecretBody = z.looseObject({
  nonce: z.string().max(128),
  username: z.string().max(255),
  password: z.string().max(1024),
  admin: z.boolean().default(false),
  user_type: z.string().max(64).nullish(),
  displayname: z.string().max(256).optional(),
  mac: z.string().max(256),
});

export function mountSynapseRegister(router: Router, app: AppContext): void {
  /** GET /_synapse/admin/v1/register — a single-use nonce for shared-secret registration. */
  route(router, app, { method: 'GET', path: '/_synapse/admin/v1/register', auth: 'none' }, async ({ app, request }) => {
    await app.rateLimits.registration.consume(request.ip);
    return { nonce: await createRegistrationNonce(app) };
  });

  /** POST /_synapse/admin/v1/register — create a user (optionally an admin) proven by an HMAC of the shared secret. */
  route(router, app, { method: 'POST', path: '/_synapse/admin/v1/register', auth: 'none', body: SharedSecretBody }, async ({ app, body }) =>
    registerWithSharedSecret(app, body),
  );
}
