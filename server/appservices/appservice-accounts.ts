import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden } from '../errors.ts';
import { registerAccount, type RegistrationResult } from '../accounts/registration.ts';
import { openSession, type NewSession } from '../accounts/sessions.ts';
import { resolveUserIdentifier, validateNewLocalpart } from '../accounts/user-ids.ts';
import { findUser } from '../storage/queries/users.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** Synapse's code for MSC4190 appservices trying to log in. */
const LOGIN_UNSUPPORTED = 'M_APPSERVICE_LOGIN_UNSUPPORTED';

export interface AppserviceRegistration {
  username: string | undefined;
  inhibitLogin?: boolean;
  deviceId?: string;
  initialDeviceDisplayName?: string;
  ip: string;
}

/**
 * `m.login.application_service` registration: a user in the appservice's users
 * namespace, without user-interactive auth and whether or not open
 * registration is enabled. Outside its namespace: 400 M_EXCLUSIVE (as Synapse).
 */
export async function registerAppserviceUser(app: AppContext, registration: Registration, request: AppserviceRegistration): Promise<RegistrationResult> {
  if (request.username === undefined) throw new MatrixError(ErrCode.MISSING_PARAM, 'An application service must name the user it registers (username)');
  const userId = validateNewLocalpart(request.username, app.config.server_name);
  if (!ownsUser(registration, userId)) throw new MatrixError(ErrCode.EXCLUSIVE, 'Invalid user localpart for this application service');
  if (registration.deviceManagement && !request.inhibitLogin) {
    throw new MatrixError(LOGIN_UNSUPPORTED, 'This appservice manages devices itself (MSC4190): register with inhibit_login, then PUT /devices/{deviceId}');
  }
  return registerAccount(app, {
    username: request.username,
    appserviceId: registration.id,
    inhibitLogin: request.inhibitLogin,
    deviceId: request.deviceId,
    initialDeviceDisplayName: request.initialDeviceDisplayName,
    ip: request.ip,
  });
}

/** `m.login.application_service` login: a new device and token for an existing user in the appservice's namespace. */
export async function loginAppserviceUser(
  app: AppContext,
  registration: Registration,
  request: { user: string; deviceId?: string; initialDeviceDisplayName?: string; ip: string },
): Promise<NewSession & { user_id: string }> {
  if (registration.deviceManagement) {
    throw new MatrixError(LOGIN_UNSUPPORTED, 'This appservice manages devices itself (MSC4190), so appservice login cannot be used');
  }
  const userId = resolveUserIdentifier(request.user, app.config.server_name);
  if (!ownsUser(registration, userId)) throw forbidden('This user is not in the application service’s namespace');
  const user = await findUser(app.db, userId);
  if (!user) throw forbidden('Invalid username');
  if (user.deactivated) throw new MatrixError(ErrCode.USER_DEACTIVATED, 'This account has been deactivated');
  const session = await openSession(app.db, { userId, deviceId: request.deviceId, displayName: request.initialDeviceDisplayName ?? null, ip: request.ip });
  return { user_id: userId, ...session };
}
