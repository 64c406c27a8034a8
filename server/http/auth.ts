import type { Context } from 'koa';
import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden, unknownToken } from '../errors.ts';
import { findTokenOwner } from '../storage/queries/access-tokens.ts';
import { hashToken } from '../accounts/tokens.ts';
import { touchDevice } from '../storage/queries/devices.ts';
import type { Registration } from '../appservices/registration.ts';
import { appserviceIdentity } from '../appservices/masquerade.ts';

/** `last_seen_ts`/`last_seen_ip` of a device are refreshed at most this often, not on every request. */
const LAST_SEEN_GRANULARITY_MS = 60_000;

/** Who is calling: the user and device an access token belongs to. */
export interface Caller {
  userId: string;
  deviceId: string;
  isAdmin: boolean;
  /** The access token as presented, kept so logout can find it; never logged. */
  accessToken: string;
  /** Set when the token is an appservice's `as_token` (the user is its sender or a user it masquerades as). */
  appservice?: Registration;
}

/** Reads `Authorization: Bearer <token>`. Tokens in the query string are not accepted (MSC4127). */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export async function authenticate(
  app: AppContext,
  ctx: Context,
  required: boolean,
  options: { ignoreAssertedUser?: boolean; appserviceOnly?: boolean } = {},
): Promise<Caller | null> {
  const token = bearerToken(ctx);
  if (!token) {
    if (!required) return null;
    throw new MatrixError(ErrCode.MISSING_TOKEN, 'Missing access token');
  }
  if (token.length > 512) throw unknownToken();
  const appservice = app.appservices.byAsToken(token);
  if (appservice) {
    const identity = await appserviceIdentity(app, appservice, {
      userId: options.ignoreAssertedUser ? undefined : singleQueryValue(ctx, 'user_id'),
      // MSC3202 device masquerading: the unstable name, and the plain one newer appservices send.
      deviceId: options.ignoreAssertedUser ? undefined : (singleQueryValue(ctx, 'org.matrix.msc3202.device_id') ?? singleQueryValue(ctx, 'device_id')),
    });
    return { ...identity, isAdmin: false, accessToken: token, appservice };
  }
  if (options.appserviceOnly) return null;
  const owner = await findTokenOwner(app.db, hashToken(token));
  if (!owner) throw unknownToken();
  if (owner.deactivated) throw unknownToken('This account has been deactivated');
  const now = Date.now();
  if (owner.last_seen_ts === null || now - owner.last_seen_ts > LAST_SEEN_GRANULARITY_MS) {
    await touchDevice(app.db, owner.user_id, owner.device_id, ctx.ip, now);
  }
  return { userId: owner.user_id, deviceId: owner.device_id, isAdmin: owner.is_admin, accessToken: token };
}

export function requireAdmin(caller: Caller): void {
  if (!caller.isAdmin) throw forbidden('You are not a server admin');
}

/** A query parameter given at most once (a repeated identity assertion is refused, never guessed at). */
function singleQueryValue(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new MatrixError(ErrCode.INVALID_PARAM, `Query parameter ${name} may be given only once`);
  if (value !== undefined && value.length > 512) throw new MatrixError(ErrCode.INVALID_PARAM, `Query parameter ${name} is too long`);
  return value;
}
