import type { AppContext } from '../app-context.ts';
import { upsertDevice } from '../storage/queries/devices.ts';
import type { Caller } from '../http/auth.ts';

/**
 * MSC4190: an appservice that sets `io.element.msc4190` manages its users'
 * devices itself (its bots hold E2EE devices without logging in): it creates
 * them with PUT /devices/{deviceId} and deletes them without user-interactive auth.
 */
export function managesDevices(caller: Caller): boolean {
  return caller.appservice?.deviceManagement === true;
}

/** Creates a device (no access token: the appservice acts for it by masquerading) for a user it acts as. */
export async function createAppserviceDevice(app: AppContext, caller: Caller, deviceId: string, displayName: string | undefined): Promise<void> {
  await upsertDevice(app.db, { user_id: caller.userId, device_id: deviceId, display_name: displayName ?? null, ip: null, now: Date.now() });
}
