import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import cors from '@koa/cors';
import type { AppContext } from '../app-context.ts';
import { MatrixError, ErrCode, unrecognized } from '../errors.ts';
import { requestScope } from '../logger.ts';
import { errorsMiddleware } from './errors-middleware.ts';
import { mountRoutes } from '../api/routes.ts';

/** Builds the Koa app; it does not listen, so tests and main.ts choose how to serve it. */
export function createApp(app: AppContext, options: { trustProxy?: boolean } = {}): Koa {
  const koa = new Koa({ proxy: options.trustProxy ?? false });
  // Failures Koa sees outside the middleware (a client that drops mid-upload, a streamed body that fails
  // mid-response) go to the log as JSON, instead of Koa's default stack dump on stderr.
  koa.on('error', (error: Error) => app.logger.info({ err: { message: error.message, code: (error as NodeJS.ErrnoException).code } }, 'connection failed outside a handler'));
  koa.use(async (ctx, next) => {
    const requestId = randomUUID().slice(0, 8);
    ctx.set('x-request-id', requestId);
    const started = process.hrtime.bigint();
    await requestScope.run({ requestId }, async () => {
      try {
        await next();
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const routeName = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        app.metrics.httpRequests.inc({ method: ctx.method, route: routeName, status: String(ctx.status) });
        app.metrics.httpDuration.observe({ method: ctx.method, route: routeName }, seconds);
        // The path only: query strings may carry tokens from old clients.
        app.logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000) }, 'request');
      }
    });
  });
  koa.use(errorsMiddleware(app.logger));
  // The spec's CORS headers, so browser clients on any origin can reach the API.
  koa.use(
    cors({
      origin: '*',
      allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowHeaders: ['X-Requested-With', 'Content-Type', 'Authorization'],
    }),
  );

  // Anything no route answered: OPTIONS gets an empty 204 (CORS), the rest M_UNRECOGNIZED.
  // A known path with another method is 405, keeping the Allow header the router set (RFC 9110 requires it).
  koa.use(async (ctx, next) => {
    await next();
    if (ctx.body != null) return;
    if (ctx.status === 405 || ctx.status === 501) {
      throw new MatrixError(ErrCode.UNRECOGNIZED, 'Method not allowed on this endpoint', { status: 405 });
    }
    if (ctx.status !== 404) return;
    if (ctx.method === 'OPTIONS') ctx.status = 204;
    else throw unrecognized('Unrecognized request');
  });

  const router = new Router();
  mountRoutes(router, app);
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  return koa;
}
