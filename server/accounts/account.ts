import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError } from '../errors.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from './passwords.ts';
import { removeAllDevices } from './sessions.ts';

/** Sets a new password; by default every other device is logged out, as the spec recommends. */
export async function changePassword(
  app: AppContext,
  userId: string,
  options: { newPassword: string; logoutDevices: boolean; keepDeviceId: string | null },
): Promise<void> {
  if (options.newPassword.length === 0) throw new MatrixError(ErrCode.WEAK_PASSWORD, 'Password cannot be empty');
  if (options.newPassword.length > MAX_PASSWORD_LENGTH) {
    throw new MatrixError(ErrCode.INVALID_PARAM, `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  const passwordHash = await hashPassword(options.newPassword);
  await app.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ password_hash: passwordHash }).where('user_id', '=', userId).execute();
    if (options.logoutDevices) await removeAllDevices(tx, userId, options.keepDeviceId);
  });
}

/**
 * Deactivation is permanent: the user ID stays reserved, the password is
 * removed, and every device and token is deleted.
 */
export async function deactivateAccount(app: AppContext, userId: string): Promise<void> {
  await app.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ deactivated: true, password_hash: null }).where('user_id', '=', userId).execute();
    await removeAllDevices(tx, userId);
  });
}
