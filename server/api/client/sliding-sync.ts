import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { markActiveFromSync } from '../../accounts/presence.ts';
import { SlidingSyncBody, SlidingSyncQuery } from '../../sliding-sync/request.ts';
import { slidingSync } from '../../sliding-sync/sliding-sync.ts';

export function mountSlidingSync(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync (MSC4186, simplified sliding sync).
   * `pos` and `timeout` from the query string (as clients send them) or the body; an unknown or
   * expired `pos` is 400 M_UNKNOWN_POS, after which the client starts a new connection.
   */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync', auth: 'user', query: SlidingSyncQuery, body: SlidingSyncBody },
    async ({ app, caller, query, body }) => {
      await markActiveFromSync(app, caller.userId, query.set_presence ?? body.set_presence ?? 'online');
      return slidingSync(app, caller, body, { pos: query.pos ?? body.pos, timeoutMs: query.timeout ?? body.timeout ?? 0 });
    },
  );
}
