import type { Queryable } from '../database.ts';
import type { DeviceRow } from '../tables/devices.ts';

export async function listDevices(db: Queryable, userId: string): Promise<DeviceRow[]> {
  return db.selectFrom('devices').selectAll().where('user_id', '=', userId).orderBy('created_ts').execute();
}

export async function findDevice(db: Queryable, userId: string, deviceId: string): Promise<DeviceRow | undefined> {
  return db.selectFrom('devices').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
}

/** Creates the device, or keeps an existing one of that ID (a client logging in again with its device_id). */
export async function upsertDevice(
  db: Queryable,
  device: { user_id: string; device_id: string; display_name: string | null; ip: string | null; now: number },
): Promise<void> {
  await db
    .insertInto('devices')
    .values({
      user_id: device.user_id,
      device_id: device.device_id,
      display_name: device.display_name,
      last_seen_ts: device.now,
      last_seen_ip: device.ip,
      created_ts: device.now,
    })
    .onConflict((conflict) =>
      conflict.columns(['user_id', 'device_id']).doUpdateSet((eb) => ({
        display_name: eb.fn.coalesce(eb.ref('excluded.display_name'), eb.ref('devices.display_name')),
        last_seen_ts: eb.ref('excluded.last_seen_ts'),
        last_seen_ip: eb.ref('excluded.last_seen_ip'),
      })),
    )
    .execute();
}

export async function setDeviceDisplayName(db: Queryable, userId: string, deviceId: string, name: string): Promise<boolean> {
  const result = await db
    .updateTable('devices')
    .set({ display_name: name })
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes devices and, by cascade, their access tokens. Returns the IDs actually deleted. */
export async function deleteDevices(db: Queryable, userId: string, deviceIds: string[]): Promise<string[]> {
  if (deviceIds.length === 0) return [];
  const rows = await db
    .deleteFrom('devices')
    .where('user_id', '=', userId)
    .where('device_id', 'in', deviceIds)
    .returning('device_id')
    .execute();
  return rows.map((row) => row.device_id);
}

export async function deleteAllDevicesExcept(db: Queryable, userId: string, keepDeviceId: string | null): Promise<string[]> {
  let query = db.deleteFrom('devices').where('user_id', '=', userId);
  if (keepDeviceId) query = query.where('device_id', '!=', keepDeviceId);
  const rows = await query.returning('device_id').execute();
  return rows.map((row) => row.device_id);
}

export async function touchDevice(db: Queryable, userId: string, deviceId: string, ip: string, now: number): Promise<void> {
  await db
    .updateTable('devices')
    .set({ last_seen_ts: now, last_seen_ip: ip })
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .execute();
}
