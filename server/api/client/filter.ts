import type Router from '@koa/router';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { forbidden, notFound } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { findFilter, insertFilter } from '../../storage/queries/user-filters.ts';
import { FilterSchema } from '../../sync/sync-filter.ts';
import { UserId } from './room-params.ts';

const UserParams = z.object({ userId: UserId });

export function mountFilter(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/user/{userId}/filter — one's own filters only. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/user/:userId/filter', auth: 'user', params: UserParams, body: FilterSchema }, async ({ app, caller, params, body }) => {
    if (params.userId !== caller.userId) throw forbidden('You can only create filters for yourself');
    const filterId = randomBytes(8).toString('hex');
    await insertFilter(app.db, { user_id: caller.userId, filter_id: filterId, filter: body, created_ts: Date.now() });
    return { filter_id: filterId };
  });

  /** GET /_matrix/client/v3/user/{userId}/filter/{filterId} */
  route(
    router,
    app,
    { method: 'GET', path: '/_matrix/client/v3/user/:userId/filter/:filterId', auth: 'user', params: UserParams.extend({ filterId: z.string().max(64) }) },
    async ({ app, caller, params }) => {
      if (params.userId !== caller.userId) throw forbidden('You can only read your own filters');
      const filter = await findFilter(app.db, caller.userId, params.filterId);
      if (!filter) throw notFound('No such filter');
      return filter;
    },
  );
}
