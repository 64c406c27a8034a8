import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { pingAppservice } from '../../appservices/ping.ts';

export function mountAppservicePing(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/v1/appservice/{appserviceId}/ping — as_token of that
   * appservice only (403 otherwise); 400 M_URL_NOT_SET, 502 M_BAD_STATUS /
   * M_CONNECTION_FAILED, 504 M_CONNECTION_TIMEOUT when the call fails.
   */
  route(
    router,
    app,
    {
      method: 'POST',
      path: '/_matrix/client/v1/appservice/:appserviceId/ping',
      auth: 'user',
      params: z.object({ appserviceId: z.string().max(255) }),
      body: z.looseObject({ transaction_id: z.string().max(255).optional() }),
    },
    ({ app, caller, params, body }) => pingAppservice(app, caller.appservice, params.appserviceId, body.transaction_id),
  );
}
