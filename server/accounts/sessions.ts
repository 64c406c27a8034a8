import type { Queryable } from '../storage/database.ts';
import { insertAccessToken } from '../storage/queries/access-tokens.ts';
import { deleteAllDevicesExcept, deleteDevices, upsertDevice } from '../storage/queries/devices.ts';
import { generateAccessToken, generateDeviceId, hashToken } from './tokens.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { onDevicesRemoved } from '../e2ee/device-removal.ts';

/** Device IDs come from clients; bound them like Synapse does. */
export const MAX_DEVICE_ID_LENGTH = 512;
export const MAX_DEVICE_NAME_LENGTH = 512;

export interface NewSession {
  device_id: string;
  access_token: string;
}

/** Creates (or reuses) a device and issues a fresh access token for it. Only the token's hash is stored. */
export async function openSession(
  db: Queryable,
  options: { userId: string; deviceId?: string; displayName?: string | null; ip: string | null },
): Promise<NewSession> {
  const now = Date.now();
  const deviceId = options.deviceId ?? generateDeviceId();
  await upsertDevice(db, { user_id: options.userId, device_id: deviceId, display_name: options.displayName ?? null, ip: options.ip, now });
  const accessToken = generateAccessToken();
  await insertAccessToken(db, hashToken(accessToken), options.userId, deviceId, now);
  return { device_id: deviceId, access_token: accessToken };
}

/** Deletes devices with their tokens. The single place device removal happens, so other data can follow it. */
export async function removeDevices(db: Queryable, userId: string, deviceIds: string[]): Promise<string[]> {
  return inTransaction(db, async (tx) => {
    const removed = await deleteDevices(tx, userId, deviceIds);
    await onDevicesRemoved(tx, userId, removed);
    return removed;
  });
}

export async function removeAllDevices(db: Queryable, userId: string, except: string | null = null): Promise<string[]> {
  return inTransaction(db, async (tx) => {
    const removed = await deleteAllDevicesExcept(tx, userId, except);
    await onDevicesRemoved(tx, userId, removed);
    return removed;
  });
}
