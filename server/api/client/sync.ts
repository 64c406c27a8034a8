import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { parseStreamToken } from '../../sync/stream-token.ts';
import { resolveSyncFilter } from '../../sync/sync-filter.ts';
import { sync } from '../../sync/sync.ts';
import { markActiveFromSync } from '../../accounts/presence.ts';

const SyncQuery = z.object({
  since: z.string().max(512).optional(),
  timeout: z.coerce.number().int().min(0).default(0),
  full_state: z.enum(['true', 'false']).default('false'),
  filter: z.string().max(16_384).optional(),
  set_presence: z.enum(['offline', 'online', 'unavailable']).optional(),
});

export function mountSync(router: Router, app: AppContext): void {
  /**
   * GET /_matrix/client/v3/sync
   * `since` is parsed strictly (a malformed token is 400 M_INVALID_PARAM); `timeout` long-polls.
   */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/sync', auth: 'user', query: SyncQuery }, async ({ app, caller, query }) => {
    const options = {
      since: query.since === undefined ? undefined : parseStreamToken(query.since),
      timeoutMs: query.timeout,
      fullState: query.full_state === 'true',
      filter: await resolveSyncFilter(app.db, caller.userId, query.filter),
    };
    // `set_presence` (spec default: online) marks the user active before the sync is read. Not for an
    // appservice's as_token: a bridge syncing as its ghost is not the person behind it being online.
    if (!caller.appservice) await markActiveFromSync(app, caller.userId, query.set_presence ?? 'online');
    return sync(app, caller, options);
  });
}
