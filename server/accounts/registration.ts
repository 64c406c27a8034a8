import { randomBytes } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError } from '../errors.ts';
import { insertUser, userExists } from '../storage/queries/users.ts';
import { completeRegistrationToken } from '../storage/queries/registration-tokens.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from './passwords.ts';
import { openSession } from './sessions.ts';
import { userIdFor, validateNewLocalpart } from './user-ids.ts';
import { assertUserIdNotReserved } from '../appservices/namespaces.ts';

export interface RegistrationRequest {
  /** Requested localpart; generated when absent. */
  username?: string;
  password?: string;
  deviceId?: string;
  initialDeviceDisplayName?: string;
  inhibitLogin?: boolean;
  admin?: boolean;
  appserviceId?: string | null;
  /** Registration token consumed by the UIA session, counted as used once the account exists. */
  registrationToken?: string;
  ip: string | null;
}

export interface RegistrationResult {
  user_id: string;
  access_token?: string;
  device_id?: string;
}

/**
 * Checks a username before any UIA stage is spent on it. IDs an appservice
 * reserved (exclusive namespace) are refused with M_EXCLUSIVE, except to that appservice.
 */
export async function assertUsernameAvailable(app: AppContext, localpart: string, appserviceId?: string | null): Promise<string> {
  const userId = validateNewLocalpart(localpart, app.config.server_name);
  assertUserIdNotReserved(app.appservices, userId, appserviceId ? app.appservices.byId(appserviceId) : undefined);
  if (await userExists(app.db, userId)) throw new MatrixError(ErrCode.USER_IN_USE, 'User ID already taken');
  return userId;
}

/** Creates the account, and unless login is inhibited its first device and token, in one transaction. */
export async function registerAccount(app: AppContext, request: RegistrationRequest): Promise<RegistrationResult> {
  if (request.password !== undefined && request.password.length > MAX_PASSWORD_LENGTH) {
    throw new MatrixError(ErrCode.INVALID_PARAM, `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  const userId = request.username !== undefined
    ? await assertUsernameAvailable(app, request.username, request.appserviceId)
    : userIdFor(`u${randomBytes(6).toString('hex')}`, app.config.server_name);
  const passwordHash = request.password ? await hashPassword(request.password) : null;

  return app.db.transaction().execute(async (tx) => {
    await insertUser(tx, {
      user_id: userId,
      password_hash: passwordHash,
      is_admin: request.admin ?? false,
      appservice_id: request.appserviceId ?? null,
      displayname: userId.slice(1, userId.indexOf(':')),
      avatar_url: null,
      created_ts: Date.now(),
    });
    if (request.registrationToken) await completeRegistrationToken(tx, request.registrationToken);
    if (request.inhibitLogin) return { user_id: userId };
    const session = await openSession(tx, {
      userId,
      deviceId: request.deviceId,
      displayName: request.initialDeviceDisplayName ?? null,
      ip: request.ip,
    });
    return { user_id: userId, ...session };
  });
}
