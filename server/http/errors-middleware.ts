import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { ErrCode, MatrixError, UiaRequired } from '../errors.ts';
import type { Logger } from 'pino';

/**
 * Registered first: every failure leaves as Matrix JSON. Known refusals keep
 * their errcode; anything unexpected is a 500 M_UNKNOWN whose message is never
 * echoed to the client (it may hold internals), only logged with its stack.
 */
export function errorsMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      if (thrown instanceof UiaRequired) {
        ctx.status = 401;
        ctx.body = thrown.body;
        return;
      }
      const error = toMatrixError(thrown);
      ctx.status = error.status;
      ctx.body = error.toJSON();
      if (error.status >= 500) {
        logger.error({ err: thrown, path: ctx.path, method: ctx.method }, 'request failed');
      } else {
        logger.info({ errcode: error.errcode, status: error.status, path: ctx.path, method: ctx.method }, error.message);
      }
    }
  };
}

export function toMatrixError(thrown: unknown): MatrixError {
  if (thrown instanceof MatrixError) return thrown;
  if (thrown instanceof ZodError) return fromZodError(thrown, 'body');
  const status = (thrown as { status?: number; statusCode?: number })?.status ?? (thrown as { statusCode?: number })?.statusCode;
  const type = (thrown as { type?: string })?.type;
  if (status === 413 || type === 'entity.too.large') return new MatrixError(ErrCode.TOO_LARGE, 'Request body is too large');
  if (type === 'request.aborted') return new MatrixError(ErrCode.UNKNOWN, 'Request was aborted', { status: 400 });
  return new MatrixError(ErrCode.UNKNOWN, 'Internal server error', { status: 500 });
}

/**
 * Validation failures name the field. A missing field is M_MISSING_PARAM; a
 * wrong value is M_BAD_JSON in a body and M_INVALID_PARAM in a query or path.
 */
export function fromZodError(error: ZodError, where: 'body' | 'query' | 'path'): MatrixError {
  const issue = error.issues[0];
  const field = issue.path.map(String).join('.');
  // Without `reportInput` zod 4 omits `input`; then only its message says the value was absent.
  // A missing enum field is an `invalid_value` issue (with undefined input) rather than `invalid_type`.
  const missing =
    (issue.code === 'invalid_type' || issue.code === 'invalid_value') && ('input' in issue ? issue.input === undefined : issue.message.endsWith('received undefined'));
  const place = where === 'body' ? (field ? `'${field}'` : 'request body') : `${where} parameter '${field}'`;
  if (missing && field) return new MatrixError(ErrCode.MISSING_PARAM, `Missing ${place}`);
  const code = where === 'body' ? ErrCode.BAD_JSON : ErrCode.INVALID_PARAM;
  return new MatrixError(code, `Invalid ${place}: ${issue.message}`);
}
