import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam, missingParam, notFound } from '../errors.ts';
import { changePassword, deactivateAccount } from '../accounts/account.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../accounts/passwords.ts';
import { checkProfileValue, PROFILE_FIELDS, setProfileField, type ProfileField } from '../accounts/profile.ts';
import { registerAccount } from '../accounts/registration.ts';
import { removeAllDevices, removeDevices } from '../accounts/sessions.ts';
import { announceDeviceListChange } from '../e2ee/e2ee-streams.ts';
import { findAdminUser, type AdminUserRow } from '../storage/queries/admin-users.ts';
import { findDevice } from '../storage/queries/devices.ts';
import { updateUser } from '../storage/queries/users.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { recordAdminAction } from './admin-audit.ts';
import { requireAdminUser } from './user-listing.ts';

/**
 * Changes server admins make to accounts, shared by the Palisade and the
 * Synapse-compatible admin APIs. Each one that changes something writes an
 * audit entry (never a password or a token). An admin cannot deactivate
 * themselves or revoke their own admin here (Synapse refuses only the latter):
 * either would lock the caller out by a slip, possibly leaving no admin at
 * all; another admin can do it, and /account/deactivate still works for oneself.
 */

export interface NewUser {
  localpart: string;
  password?: string;
  admin: boolean;
  displayname?: string;
  avatar_url?: string;
}

/** A new local account, without a device: the user logs in with the password. */
export async function createUser(app: AppContext, actor: string, user: NewUser): Promise<AdminUserRow> {
  checkPassword(user.password);
  // Checked before the account exists, so a refusal leaves nothing behind.
  const profile = { displayname: emptyToNull(user.displayname), avatar_url: emptyToNull(user.avatar_url) };
  for (const field of PROFILE_FIELDS) if (profile[field]) checkProfileValue(field, profile[field]);
  const { user_id: userId } = await registerAccount(app, { username: user.localpart, password: user.password, admin: user.admin, inhibitLogin: true, ip: null });
  // A new user is in no room, so there is nothing to carry the profile to.
  const update = Object.fromEntries(PROFILE_FIELDS.filter((field) => profile[field] !== undefined).map((field) => [field, profile[field]]));
  if (Object.keys(update).length > 0) await updateUser(app.db, userId, update);
  const created = await requireAdminUser(app, userId);
  await recordAdminAction(app.db, {
    actor,
    action: 'user.create',
    target_type: 'user',
    target: userId,
    before: null,
    after: { admin: created.is_admin, displayname: created.displayname, avatar_url: created.avatar_url, password_set: user.password !== undefined },
  });
  return created;
}

/**
 * Deactivates through the same path as /account/deactivate: password removed,
 * devices and tokens deleted, every room left. `erase` also removes the display
 * name and avatar (messages stay). Deactivating a deactivated user changes nothing.
 */
export async function deactivateUser(app: AppContext, actor: string, userId: string, erase: boolean): Promise<void> {
  if (userId === actor) throw forbidden('You cannot deactivate your own account through the admin API; another admin can, or use /account/deactivate');
  const user = await requireAdminUser(app, userId);
  if (user.deactivated && !erase) return;
  const leftRooms = user.deactivated ? [] : await deactivateAccount(app, userId);
  if (!user.deactivated) await announceDeviceListChange(app, [userId]);
  if (erase) await updateUser(app.db, userId, { displayname: null, avatar_url: null });
  await recordAdminAction(app.db, {
    actor,
    action: 'user.deactivate',
    target_type: 'user',
    target: userId,
    before: { deactivated: user.deactivated, displayname: user.displayname, avatar_url: user.avatar_url },
    after: { deactivated: true, erase, left_rooms: leftRooms },
  });
}

/** Undoes a deactivation (Synapse's PUT with deactivated: false): the account needs a new password to be usable again. */
export async function reactivateUser(app: AppContext, actor: string, userId: string, password: string | undefined): Promise<void> {
  const user = await requireAdminUser(app, userId);
  if (!user.deactivated) return;
  if (password === undefined) throw missingParam('A password is required to reactivate a user');
  checkPassword(password);
  const passwordHash = await hashPassword(password);
  await inTransaction(app.db, async (tx) => {
    await updateUser(tx, userId, { deactivated: false, password_hash: passwordHash });
    await recordAdminAction(tx, { actor, action: 'user.reactivate', target_type: 'user', target: userId, before: { deactivated: true }, after: { deactivated: false } });
  });
}

/** Sets a user's password; by default every device is logged out too. */
export async function resetPassword(app: AppContext, actor: string, userId: string, newPassword: string, logoutDevices: boolean): Promise<{ logged_out_devices: string[] }> {
  const user = await requireAdminUser(app, userId);
  if (user.deactivated) throw invalidParam(`${userId} is deactivated; reactivate it to give it a password`);
  const removed = await changePassword(app, userId, { newPassword, logoutDevices, keepDeviceId: null });
  if (removed.length > 0) await announceDeviceListChange(app, [userId]);
  await recordAdminAction(app.db, {
    actor,
    action: 'user.password_reset',
    target_type: 'user',
    target: userId,
    before: null,
    after: { logout_devices: logoutDevices, logged_out_devices: removed },
  });
  return { logged_out_devices: removed };
}

/** Grants or revokes server admin; in force from the user's next request. */
export async function setServerAdmin(app: AppContext, actor: string, userId: string, admin: boolean): Promise<void> {
  if (userId === actor && !admin) throw forbidden('You cannot revoke your own server admin; ask another admin');
  const user = await requireAdminUser(app, userId);
  if (user.is_admin === admin) return;
  await inTransaction(app.db, async (tx) => {
    await updateUser(tx, userId, { is_admin: admin });
    await recordAdminAction(tx, { actor, action: 'user.admin', target_type: 'user', target: userId, before: { admin: user.is_admin }, after: { admin } });
  });
}

/** Sets (or with '' removes) a display name or avatar, carried to the user's rooms as their own change would be. */
export async function setUserProfile(app: AppContext, actor: string, userId: string, profile: Partial<Record<ProfileField, string>>): Promise<void> {
  const user = await requireAdminUser(app, userId);
  const changed = (Object.keys(profile) as ProfileField[]).filter((field) => (profile[field] === '' ? null : profile[field]) !== user[field]);
  if (changed.length === 0) return;
  if (user.deactivated) throw invalidParam(`${userId} is deactivated; its profile cannot change`);
  // Every value checked before any is set, so a refusal changes nothing.
  for (const field of changed) if (profile[field]) checkProfileValue(field, profile[field]);
  for (const field of changed) await setProfileField(app, userId, userId, field, profile[field]!);
  const after = await requireAdminUser(app, userId);
  await recordAdminAction(app.db, {
    actor,
    action: 'user.profile',
    target_type: 'user',
    target: userId,
    before: Object.fromEntries(changed.map((field) => [field, user[field]])),
    after: Object.fromEntries(changed.map((field) => [field, after[field]])),
  });
}

/** Logs a user out of one device (404 when they have no such device) or of all of them. Returns the devices removed. */
export async function logOutUser(
  app: AppContext,
  actor: string,
  userId: string,
  deviceId?: string,
  options: { missingDeviceIsFine?: boolean } = {},
): Promise<{ logged_out_devices: string[] }> {
  await requireAdminUser(app, userId);
  if (deviceId !== undefined && !options.missingDeviceIsFine && !(await findDevice(app.db, userId, deviceId))) throw notFound(`${userId} has no device ${deviceId}`);
  const removed = deviceId === undefined ? await removeAllDevices(app.db, userId) : await removeDevices(app.db, userId, [deviceId]);
  if (removed.length === 0) return { logged_out_devices: [] };
  await announceDeviceListChange(app, [userId]);
  await recordAdminAction(app.db, { actor, action: 'user.logout', target_type: 'user', target: userId, before: { devices: removed }, after: { devices: [] } });
  return { logged_out_devices: removed };
}

/** The user if they exist, for callers that create or modify (Synapse's PUT). */
export async function findUserForAdmin(app: AppContext, userId: string): Promise<AdminUserRow | undefined> {
  return findAdminUser(app.db, userId);
}

const emptyToNull = (value: string | undefined) => (value === '' ? null : value);

function checkPassword(password: string | undefined): void {
  if (password === undefined) return;
  if (password.length === 0) throw invalidParam('The password cannot be empty');
  if (password.length > MAX_PASSWORD_LENGTH) throw invalidParam(`The password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
}
