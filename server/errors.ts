/**
 * One error type for every refusal. Thrown anywhere, turned into Matrix JSON
 * (`{"errcode", "error", ...extra}`) by the error middleware.
 */
export const ErrCode = {
  FORBIDDEN: 'M_FORBIDDEN',
  UNKNOWN_TOKEN: 'M_UNKNOWN_TOKEN',
  MISSING_TOKEN: 'M_MISSING_TOKEN',
  USER_LOCKED: 'M_USER_LOCKED',
  USER_SUSPENDED: 'M_USER_SUSPENDED',
  BAD_JSON: 'M_BAD_JSON',
  NOT_JSON: 'M_NOT_JSON',
  NOT_FOUND: 'M_NOT_FOUND',
  LIMIT_EXCEEDED: 'M_LIMIT_EXCEEDED',
  UNRECOGNIZED: 'M_UNRECOGNIZED',
  UNKNOWN: 'M_UNKNOWN',
  UNAUTHORIZED: 'M_UNAUTHORIZED',
  USER_DEACTIVATED: 'M_USER_DEACTIVATED',
  USER_IN_USE: 'M_USER_IN_USE',
  INVALID_USERNAME: 'M_INVALID_USERNAME',
  ROOM_IN_USE: 'M_ROOM_IN_USE',
  INVALID_ROOM_STATE: 'M_INVALID_ROOM_STATE',
  THREEPID_IN_USE: 'M_THREEPID_IN_USE',
  UNSUPPORTED_ROOM_VERSION: 'M_UNSUPPORTED_ROOM_VERSION',
  INCOMPATIBLE_ROOM_VERSION: 'M_INCOMPATIBLE_ROOM_VERSION',
  BAD_STATE: 'M_BAD_STATE',
  GUEST_ACCESS_FORBIDDEN: 'M_GUEST_ACCESS_FORBIDDEN',
  MISSING_PARAM: 'M_MISSING_PARAM',
  INVALID_PARAM: 'M_INVALID_PARAM',
  BAD_ALIAS: 'M_BAD_ALIAS',
  TOO_LARGE: 'M_TOO_LARGE',
  EXCLUSIVE: 'M_EXCLUSIVE',
  RESOURCE_LIMIT_EXCEEDED: 'M_RESOURCE_LIMIT_EXCEEDED',
  CANNOT_LEAVE_SERVER_NOTICE_ROOM: 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM',
  WEAK_PASSWORD: 'M_WEAK_PASSWORD',
  UNSUPPORTED: 'M_UNSUPPORTED',
  WRONG_ROOM_KEYS_VERSION: 'M_WRONG_ROOM_KEYS_VERSION',
} as const;

export type ErrCode = (typeof ErrCode)[keyof typeof ErrCode];

/** HTTP status for each errcode when the caller does not say otherwise. */
const STATUS_BY_ERRCODE: Record<string, number> = {
  M_FORBIDDEN: 403,
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_USER_LOCKED: 401,
  M_USER_SUSPENDED: 403,
  M_BAD_JSON: 400,
  M_NOT_JSON: 400,
  M_NOT_FOUND: 404,
  M_LIMIT_EXCEEDED: 429,
  M_UNRECOGNIZED: 404,
  M_UNKNOWN: 400,
  M_UNAUTHORIZED: 401,
  M_USER_DEACTIVATED: 403,
  M_USER_IN_USE: 400,
  M_INVALID_USERNAME: 400,
  M_ROOM_IN_USE: 400,
  M_INVALID_ROOM_STATE: 400,
  M_THREEPID_IN_USE: 400,
  M_UNSUPPORTED_ROOM_VERSION: 400,
  M_INCOMPATIBLE_ROOM_VERSION: 400,
  M_BAD_STATE: 400,
  M_GUEST_ACCESS_FORBIDDEN: 403,
  M_MISSING_PARAM: 400,
  M_INVALID_PARAM: 400,
  M_BAD_ALIAS: 400,
  M_TOO_LARGE: 413,
  M_EXCLUSIVE: 400,
  M_RESOURCE_LIMIT_EXCEEDED: 403,
  M_WEAK_PASSWORD: 400,
  M_UNSUPPORTED: 400,
  M_WRONG_ROOM_KEYS_VERSION: 403,
};

export class MatrixError extends Error {
  declare readonly errcode: string;
  declare readonly status: number;
  /** Extra top-level fields of the error body (`retry_after_ms`, `soft_logout`, ...). */
  declare readonly extra: Record<string, unknown>;

  constructor(errcode: string, message: string, options: { status?: number; extra?: Record<string, unknown> } = {}) {
    super(message);
    this.name = 'MatrixError';
    this.errcode = errcode;
    this.status = options.status ?? STATUS_BY_ERRCODE[errcode] ?? 400;
    this.extra = options.extra ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

/** 401 that drives user-interactive authentication; its body is the UIA state, not an error. */
export class UiaRequired extends Error {
  declare readonly body: Record<string, unknown>;
  constructor(body: Record<string, unknown>) {
    super('user-interactive authentication required');
    this.name = 'UiaRequired';
    this.body = body;
  }
}

export const forbidden = (message: string) => new MatrixError(ErrCode.FORBIDDEN, message);
export const notFound = (message: string) => new MatrixError(ErrCode.NOT_FOUND, message);
export const badJson = (message: string) => new MatrixError(ErrCode.BAD_JSON, message);
export const invalidParam = (message: string) => new MatrixError(ErrCode.INVALID_PARAM, message);
export const missingParam = (message: string) => new MatrixError(ErrCode.MISSING_PARAM, message);
export const unrecognized = (message: string) => new MatrixError(ErrCode.UNRECOGNIZED, message);
export const tooLarge = (message: string) => new MatrixError(ErrCode.TOO_LARGE, message);
export const limitExceeded = (retryAfterMs: number) =>
  new MatrixError(ErrCode.LIMIT_EXCEEDED, 'Too many requests; try again later', {
    extra: { retry_after_ms: Math.max(0, Math.ceil(retryAfterMs)) },
  });
export const unknownToken = (message = 'Unrecognised access token') =>
  new MatrixError(ErrCode.UNKNOWN_TOKEN, message, { extra: { soft_logout: false } });
