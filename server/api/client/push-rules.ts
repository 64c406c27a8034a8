import type Router from '@koa/router';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';

export function mountPushRules(router: Router, app: AppContext): void {
  /**
   * GET /_matrix/client/v3/pushrules/ — clients (matrix-js-sdk among them) read
   * this before their first sync and retry until it answers. Push rules are not
   * stored yet, so every user has an empty rule set (a valid one: the kinds are
   * present and empty; clients apply their own copies of the predefined rules).
   */
  route(router, app, { method: 'GET', path: ['/_matrix/client/v3/pushrules', '/_matrix/client/v3/pushrules/'], auth: 'user' }, () => ({
    global: { override: [], content: [], room: [], sender: [], underride: [] },
  }));
}
