import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden } from '../errors.ts';
import { findDevice } from '../storage/queries/devices.ts';
import { findUser } from '../storage/queries/users.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/**
 * Device ID of an appservice request that names none. Appservices act without
 * a device unless they masquerade as one (MSC3202); the empty ID keeps their
 * idempotent sends (keyed by device) apart from every real device.
 */
export const APPSERVICE_NO_DEVICE = '';

/**
 * Who an `as_token` request acts as. Spec (identity assertion): `user_id`
 * names a user in the appservice's namespace that it has registered (403
 * M_FORBIDDEN otherwise); MSC3202 `device_id` names an existing device of that
 * user (400 M_EXCLUSIVE otherwise, as Synapse answers).
 */
export async function appserviceIdentity(
  app: AppContext,
  registration: Registration,
  asserted: { userId?: string; deviceId?: string },
): Promise<{ userId: string; deviceId: string }> {
  const userId = asserted.userId ?? registration.senderUserId;
  if (!ownsUser(registration, userId)) throw forbidden(`Application service cannot masquerade as this user (${userId})`);
  if (userId !== registration.senderUserId) {
    const user = await findUser(app.db, userId);
    if (!user) throw forbidden(`Application service has not registered this user (${userId})`);
    if (user.deactivated) throw forbidden(`This user has been deactivated (${userId})`);
  }
  // Without MSC3202 in its registration the parameter is ignored, as Synapse does.
  if (asserted.deviceId === undefined || !registration.deviceMasquerading) return { userId, deviceId: APPSERVICE_NO_DEVICE };
  if (!(await findDevice(app.db, userId, asserted.deviceId))) {
    throw new MatrixError(ErrCode.EXCLUSIVE, `Application service trying to use a device that doesn't exist (${asserted.deviceId} for ${userId})`, {
      status: 400,
    });
  }
  return { userId, deviceId: asserted.deviceId };
}
