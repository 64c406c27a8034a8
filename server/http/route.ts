import type Router from '@koa/router';
import type { Context } from 'koa';
import { PassThrough, type Readable } from 'node:stream';
import type { z } from 'zod';
import type { AppContext } from '../app-context.ts';
import { authenticate, requireAdmin, type Caller } from './auth.ts';
import { fromZodError } from './errors-middleware.ts';
import { readJsonBody } from './json-body.ts';
import { assertStorable } from './storable-json.ts';

/** `user`: access token required; `admin`: and a server admin; `optional`: used if present; `none`: ignored. */
export type AuthKind = 'user' | 'admin' | 'optional' | 'none';
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends AuthKind> {
  method: Method;
  /** Koa-router path, e.g. `/_matrix/client/v3/devices/:deviceId`. */
  path: string | string[];
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Raise the JSON body limit for routes that legitimately carry more. */
  maxBodyBytes?: number;
  /** The body is not JSON: the handler gets it as a stream (`raw`), read by nobody else. */
  rawBody?: boolean;
  /** An appservice's `user_id` names a user that may not exist yet (registration): the caller is the appservice's sender. */
  appserviceRegisters?: boolean;
  /** Only an appservice's as_token is looked at; any other token is ignored (/login, where a client may hold a stale one). */
  appserviceTokenOnly?: boolean;
}

/** A request body handed over unread (routes with `rawBody`), with the headers that describe it. */
export interface RawBody {
  stream: Readable;
  contentType: string | undefined;
  /** From Content-Length; undefined for a chunked body. */
  contentLength: number | undefined;
}

type CallerOf<A extends AuthKind> = A extends 'user' | 'admin' ? Caller : A extends 'optional' ? Caller | null : null;

export interface RouteInput<P, Q, B, A extends AuthKind> {
  app: AppContext;
  caller: CallerOf<A>;
  params: P;
  query: Q;
  body: B;
  /** Only on `rawBody` routes. */
  raw: RawBody | undefined;
  /** What little of the request domain code may need: the client's address and the matched path. */
  request: { ip: string; method: string; path: string; userAgent: string | undefined };
}

/** A reply with a status other than 200, or headers. Plain objects are sent as 200 JSON; a stream body is piped. */
export class Reply {
  declare readonly status: number;
  declare readonly body: unknown;
  declare readonly headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

type Handler<P, Q, B, A extends AuthKind> = (input: RouteInput<P, Q, B, A>) => Promise<unknown> | unknown;

/**
 * Registers one route from its descriptor: authentication, then params, query
 * and body parsed by their zod schemas (failures become Matrix errors that name
 * the field), then the handler, whose return value becomes the response.
 */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends AuthKind>(
  router: Router,
  app: AppContext,
  spec: RouteSpec<P, Q, B, A>,
  handler: Handler<z.output<P>, z.output<Q>, z.output<B>, A>,
): void {
  const paths = Array.isArray(spec.path) ? spec.path : [spec.path];
  const method = spec.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
  for (const path of paths) {
    router[method](path, async (ctx: Context) => {
      const caller = spec.auth === 'none' ? null : await authenticate(app, ctx, spec.auth !== 'optional', { ignoreAssertedUser: spec.appserviceRegisters, appserviceOnly: spec.appserviceTokenOnly });
      if (spec.auth === 'admin') requireAdmin(caller!);
      // Postgres stores no NUL and no lone surrogates: refuse them here, for every route, as M_BAD_JSON.
      assertStorable(ctx.params, 'A path parameter');
      assertStorable(ctx.query, 'A query parameter');
      const params = parseWith(spec.params, ctx.params, 'path');
      const query = parseWith(spec.query, ctx.query, 'query');
      const body = spec.body ? parseWith(spec.body, await readJsonBody(ctx, spec.maxBodyBytes), 'body') : (undefined as z.output<B>);
      const raw = spec.rawBody ? rawBodyOf(ctx) : undefined;
      let result: unknown;
      try {
        result = await handler({
          app,
          caller: caller as CallerOf<A>,
          params,
          query,
          body,
          raw,
          request: { ip: ctx.ip, method: ctx.method, path: ctx.path, userAgent: ctx.get('user-agent') || undefined },
        });
      } catch (error) {
        // Refused before the body was read to its end (too large, over quota): answer, then close the
        // connection rather than read the rest of what may be a huge upload.
        if (raw && !ctx.req.complete) ctx.set('connection', 'close');
        throw error;
      }
      if (result instanceof Reply) {
        ctx.status = result.status;
        ctx.set(result.headers);
        ctx.body = result.body;
      } else {
        ctx.status = 200;
        ctx.body = result ?? {};
      }
    });
  }
}

/**
 * The request stream behind a pass-through, so a handler that stops reading
 * (or whose pipeline destroys its source) never destroys the socket, and the
 * error reply can still be sent. A client that goes away fails the stream.
 */
function rawBodyOf(ctx: Context): RawBody {
  const stream = new PassThrough();
  // Whoever reads the body sees its error (pipeline reports a stream that already failed); this listener
  // only keeps an abort that happens before anyone reads from being an uncaught exception.
  stream.on('error', () => undefined);
  const request = ctx.req;
  request.pipe(stream);
  request.once('error', (error) => stream.destroy(error));
  const abortIfIncomplete = () => {
    if (!request.complete) stream.destroy(new Error('request aborted'));
  };
  // The client may have gone away while the route authenticated: 'close' has then already fired,
  // and without this the body would never end and the handler (and its spool file) would hang forever.
  if (request.destroyed) abortIfIncomplete();
  else request.once('close', abortIfIncomplete);
  stream.once('close', () => request.unpipe(stream));
  const length = ctx.get('content-length');
  return {
    stream,
    contentType: ctx.get('content-type') || undefined,
    contentLength: /^\d+$/.test(length) ? Number(length) : undefined,
  };
}

function parseWith<T extends z.ZodType>(schema: T | undefined, input: unknown, where: 'body' | 'query' | 'path'): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  // reportInput: zod 4 leaves `input` out of issues otherwise, and fromZodError tells a missing field from a wrong one by it.
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw fromZodError(result.error, where);
  return result.data;
}
