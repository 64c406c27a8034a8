import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';

/** Device keys, one-time keys and fallback keys. `key_json` is written as JSON text, read as parsed JSON. */

export async function findDeviceKeys(db: Queryable, userId: string, deviceId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('device_keys').select('key_json').where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
  return row?.key_json;
}

/**
 * Locks the device row, so it cannot be deleted under us and key uploads of one
 * device run one at a time (two racing uploads cannot both pass the "already
 * stored?" checks), and says whether it exists.
 */
export async function lockDevice(tx: Tx, userId: string, deviceId: string): Promise<boolean> {
  const row = await tx.selectFrom('devices').select('device_id').where('user_id', '=', userId).where('device_id', '=', deviceId).forNoKeyUpdate().executeTakeFirst();
  return row !== undefined;
}

export async function insertDeviceKeys(tx: Tx, userId: string, deviceId: string, keyJson: object, now: number): Promise<void> {
  await tx
    .insertInto('device_keys')
    .values({ user_id: userId, device_id: deviceId, key_json: JSON.stringify(keyJson), created_ts: now })
    .onConflict((conflict) => conflict.columns(['user_id', 'device_id']).doNothing())
    .execute();
}

export interface DeviceKeysWithName {
  user_id: string;
  device_id: string;
  key_json: Record<string, unknown>;
  display_name: string | null;
}

/** Device keys of the given users (all devices when `deviceIds` is null), with device display names. */
export async function listDeviceKeys(db: Queryable, query: { userId: string; deviceIds: string[] | null }[]): Promise<DeviceKeysWithName[]> {
  if (query.length === 0) return [];
  return db
    .selectFrom('device_keys')
    .innerJoin('devices', (join) => join.onRef('devices.user_id', '=', 'device_keys.user_id').onRef('devices.device_id', '=', 'device_keys.device_id'))
    .select(['device_keys.user_id', 'device_keys.device_id', 'device_keys.key_json', 'devices.display_name'])
    .where((eb) =>
      eb.or(
        query.map(({ userId, deviceIds }) =>
          deviceIds === null
            ? eb('device_keys.user_id', '=', userId)
            : eb.and([eb('device_keys.user_id', '=', userId), eb('device_keys.device_id', 'in', deviceIds.length ? deviceIds : [''])]),
        ),
      ),
    )
    .execute();
}

export async function findOneTimeKeys(
  db: Queryable,
  userId: string,
  deviceId: string,
  names: { algorithm: string; keyId: string }[],
): Promise<Map<string, unknown>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .selectFrom('one_time_keys')
    .select(['algorithm', 'key_id', 'key_json'])
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .where('key_id', 'in', names.map((name) => name.keyId))
    .execute();
  return new Map(rows.map((row) => [`${row.algorithm}:${row.key_id}`, row.key_json]));
}

export async function insertOneTimeKeys(
  tx: Tx,
  userId: string,
  deviceId: string,
  keys: { algorithm: string; keyId: string; key: unknown }[],
  now: number,
): Promise<void> {
  if (keys.length === 0) return;
  await tx
    .insertInto('one_time_keys')
    .values(keys.map((key) => ({ user_id: userId, device_id: deviceId, algorithm: key.algorithm, key_id: key.keyId, key_json: JSON.stringify(key.key), created_ts: now })))
    .onConflict((conflict) => conflict.columns(['user_id', 'device_id', 'algorithm', 'key_id']).doNothing())
    .execute();
}

export async function countOneTimeKeys(db: Queryable, userId: string, deviceId: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('one_time_keys')
    .select(['algorithm', (eb) => eb.fn.countAll<string>().as('count')])
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .groupBy('algorithm')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.algorithm, Number(row.count)]));
}

/** Replaces the fallback key of each algorithm; a new key starts unused. */
export async function upsertFallbackKeys(
  tx: Tx,
  userId: string,
  deviceId: string,
  keys: { algorithm: string; keyId: string; key: unknown }[],
  now: number,
): Promise<void> {
  for (const key of keys) {
    await tx
      .insertInto('fallback_keys')
      .values({ user_id: userId, device_id: deviceId, algorithm: key.algorithm, key_id: key.keyId, key_json: JSON.stringify(key.key), used: false, created_ts: now })
      .onConflict((conflict) =>
        conflict.columns(['user_id', 'device_id', 'algorithm']).doUpdateSet((eb) => ({
          key_id: eb.ref('excluded.key_id'),
          key_json: eb.ref('excluded.key_json'),
          // Re-uploading the same key keeps its `used` flag; a new key is unused.
          used: sql<boolean>`CASE WHEN fallback_keys.key_id = excluded.key_id AND fallback_keys.key_json = excluded.key_json THEN fallback_keys.used ELSE false END`,
          created_ts: eb.ref('excluded.created_ts'),
        })),
      )
      .execute();
  }
}

/** Algorithms whose fallback key has been handed out (for /sync's `device_unused_fallback_key_types`, inverted). */
export async function listUnusedFallbackKeyAlgorithms(db: Queryable, userId: string, deviceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('fallback_keys')
    .select('algorithm')
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .where('used', '=', false)
    .execute();
  return rows.map((row) => row.algorithm);
}

export interface KeyWanted {
  user_id: string;
  device_id: string;
  algorithm: string;
}

export interface KeyTaken extends KeyWanted {
  key_id: string;
  key_json: unknown;
}

const columns = (wanted: readonly KeyWanted[]) => ({
  users: wanted.map((w) => w.user_id),
  devices: wanted.map((w) => w.device_id),
  algorithms: wanted.map((w) => w.algorithm),
});

/**
 * Takes the oldest one-time key of the wanted algorithm for each wanted
 * device, deleting them in one statement. `SKIP LOCKED` lets concurrent
 * claims take different keys instead of queueing on the same row; each key
 * is returned at most once. Devices without a free key are left out.
 */
export async function takeOneTimeKeys(db: Queryable, wanted: readonly KeyWanted[]): Promise<KeyTaken[]> {
  if (wanted.length === 0) return [];
  const { users, devices, algorithms } = columns(wanted);
  const result = await sql<KeyTaken>`
    DELETE FROM one_time_keys o
    USING (
      SELECT picked.user_id, picked.device_id, picked.algorithm, picked.key_id
      FROM unnest(${users}::text[], ${devices}::text[], ${algorithms}::text[]) AS q(user_id, device_id, algorithm)
      CROSS JOIN LATERAL (
        SELECT k.user_id, k.device_id, k.algorithm, k.key_id FROM one_time_keys k
        WHERE k.user_id = q.user_id AND k.device_id = q.device_id AND k.algorithm = q.algorithm
        ORDER BY k.upload_seq
        LIMIT 1
        FOR UPDATE SKIP LOCKED
      ) picked
    ) pick
    WHERE o.user_id = pick.user_id AND o.device_id = pick.device_id AND o.algorithm = pick.algorithm AND o.key_id = pick.key_id
    RETURNING o.user_id, o.device_id, o.algorithm, o.key_id, o.key_json`.execute(db);
  return result.rows;
}

/** Hands out the fallback key of each wanted device (not deleted; marked used). */
export async function useFallbackKeys(db: Queryable, wanted: readonly KeyWanted[]): Promise<KeyTaken[]> {
  if (wanted.length === 0) return [];
  const { users, devices, algorithms } = columns(wanted);
  const result = await sql<KeyTaken>`
    UPDATE fallback_keys f SET used = true
    FROM unnest(${users}::text[], ${devices}::text[], ${algorithms}::text[]) AS q(user_id, device_id, algorithm)
    WHERE f.user_id = q.user_id AND f.device_id = q.device_id AND f.algorithm = q.algorithm
    RETURNING f.user_id, f.device_id, f.algorithm, f.key_id, f.key_json`.execute(db);
  return result.rows;
}
