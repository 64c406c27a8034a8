import type Router from '@koa/router';
import { sql } from 'kysely';
import type { AppContext } from '../app-context.ts';
import { Reply, route } from '../http/route.ts';

export function mountHealth(router: Router, app: AppContext): void {
  /** GET /health — 200 "OK" only while the database answers, for load balancers and orchestrators. */
  route(router, app, { method: 'GET', path: '/health', auth: 'none' }, async ({ app }) => {
    try {
      await sql`SELECT 1`.execute(app.db);
      return new Reply(200, 'OK', { 'content-type': 'text/plain' });
    } catch {
      return new Reply(503, 'database unavailable', { 'content-type': 'text/plain' });
    }
  });
}
