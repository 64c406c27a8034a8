import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';

/** The request being served, so every log line carries its id without passing loggers around. */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

/** Keys that must never reach a log line, wherever they appear in a logged object. */
const REDACTED_PATHS = [
  'password',
  'new_password',
  'access_token',
  'token',
  'auth.password',
  'req.headers.authorization',
  'headers.authorization',
  'registration_shared_secret',
  'as_token',
  'hs_token',
  '*.password',
  '*.access_token',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: () => {
        const scope = requestScope.getStore();
        return scope ? { req_id: scope.requestId } : {};
      },
    },
    destination as never,
  );
}
