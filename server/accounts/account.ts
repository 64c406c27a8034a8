import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError } from '../errors.ts';
import { leaveRoom } from '../rooms/membership.ts';
import { membershipsOfUser } from '../storage/queries/room-state.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from './passwords.ts';
import { removeAllDevices } from './sessions.ts';

/** Memberships deactivation ends: joined rooms are left, pending invites rejected, knocks withdrawn. */
const MEMBERSHIPS_LEFT_ON_DEACTIVATION = ['join', 'invite', 'knock'] as const;

/**
 * Sets a new password; by default every other device is logged out, as the
 * spec recommends. Returns the devices logged out.
 */
export async function changePassword(
  app: AppContext,
  userId: string,
  options: { newPassword: string; logoutDevices: boolean; keepDeviceId: string | null },
): Promise<string[]> {
  if (options.newPassword.length === 0) throw new MatrixError(ErrCode.WEAK_PASSWORD, 'Password cannot be empty');
  if (options.newPassword.length > MAX_PASSWORD_LENGTH) {
    throw new MatrixError(ErrCode.INVALID_PARAM, `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  const passwordHash = await hashPassword(options.newPassword);
  return app.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ password_hash: passwordHash }).where('user_id', '=', userId).execute();
    return options.logoutDevices ? removeAllDevices(tx, userId, options.keepDeviceId) : [];
  });
}

/**
 * Deactivation is permanent: the user ID stays reserved, the password is
 * removed, and every device and token is deleted. Then the user leaves every
 * room (rejecting invites, withdrawing knocks) through the normal event path,
 * as Synapse does, so members see them go. Returns the rooms left.
 */
export async function deactivateAccount(app: AppContext, userId: string): Promise<string[]> {
  await app.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ deactivated: true, password_hash: null }).where('user_id', '=', userId).execute();
    await removeAllDevices(tx, userId);
  });
  const left: string[] = [];
  for (const membership of await membershipsOfUser(app.db, userId, MEMBERSHIPS_LEFT_ON_DEACTIVATION)) {
    try {
      await leaveRoom(app, userId, membership.room_id);
      left.push(membership.room_id);
    } catch (error) {
      // The account is already closed; one room refusing (or gone) must not keep the others.
      app.logger.warn({ err: error, roomId: membership.room_id, userId }, 'a deactivated user could not leave a room');
    }
  }
  return left;
}
