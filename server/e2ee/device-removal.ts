import type { Tx } from '../storage/database.ts';
import { deleteSignaturesOfDevices } from '../storage/queries/cross-signing.ts';
import { recordDeviceListChange } from './device-list-stream.ts';

/**
 * What E2EE does when devices are deleted, in the deleting transaction. Device
 * keys, one-time and fallback keys, the to-device inbox and transaction IDs go
 * by FK cascade; signatures (which may target a cross-signing key) are removed
 * here, and the user's device list is marked changed so others re-query it.
 */
export async function onDevicesRemoved(tx: Tx, userId: string, deviceIds: string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await deleteSignaturesOfDevices(tx, userId, deviceIds);
  await recordDeviceListChange(tx, [userId]);
}
