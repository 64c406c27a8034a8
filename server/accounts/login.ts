import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden } from '../errors.ts';
import { findUser } from '../storage/queries/users.ts';
import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword } from './passwords.ts';
import { openSession, type NewSession } from './sessions.ts';
import { resolveUserIdentifier } from './user-ids.ts';

export interface PasswordLogin {
  /** `m.id.user` identifier value or legacy `user` field: a localpart or full user ID. */
  user: string;
  password: string;
  deviceId?: string;
  initialDeviceDisplayName?: string;
  ip: string;
}

const INVALID = 'Invalid username or password';

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashPassword(randomBytes(16).toString('hex')));

/**
 * `m.login.password`. Rate limited per address and per account, and failed
 * attempts per account; every failure looks the same so accounts cannot be probed.
 */
export async function loginWithPassword(app: AppContext, login: PasswordLogin): Promise<NewSession & { user_id: string }> {
  const userId = resolveUserIdentifier(login.user, app.config.server_name);
  await app.rateLimits.loginAddress.consume(login.ip);
  await app.rateLimits.loginAccount.consume(userId);
  if (await app.rateLimits.loginFailures.isLimited(userId)) await app.rateLimits.loginFailures.consume(userId);

  const user = await findUser(app.db, userId);
  // Deactivation removes the password, so say so rather than "invalid password" (as Synapse does);
  // the user ID of a deactivated account is no secret, it stays reserved.
  if (user?.deactivated) throw new MatrixError(ErrCode.USER_DEACTIVATED, 'This account has been deactivated');
  // Unknown users are checked against a dummy hash so the answer takes as long as a wrong password.
  const valid = await verifyPassword(login.password, user?.password_hash ?? (await dummyHash()));
  if (!user?.password_hash || !valid) {
    await app.rateLimits.loginFailures.consume(userId).catch(() => undefined);
    throw forbidden(INVALID);
  }
  const session = await openSession(app.db, {
    userId,
    deviceId: login.deviceId,
    displayName: login.initialDeviceDisplayName ?? null,
    ip: login.ip,
  });
  return { user_id: userId, ...session };
}
