import { tooLarge } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { takeOneTimeKeys, useFallbackKeys, type KeyWanted } from '../storage/queries/device-keys.ts';
import { splitLocalAndRemote } from './federation-failures.ts';

/** Bound on the (user, device) pairs one /keys/claim may name. */
export const MAX_CLAIMS_PER_REQUEST = 1000;

export interface KeyClaimResult {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, object>;
}

/**
 * POST /keys/claim. One key per requested device: the oldest one-time key of
 * the algorithm, deleted as it is handed out (each at most once, even under
 * concurrent claims), else the device's fallback key, marked used. Unknown
 * users and devices are left out of the result, as the spec says.
 */
export async function claimKeys(db: Queryable, serverName: string, query: Record<string, Record<string, string>>): Promise<KeyClaimResult> {
  const total = Object.values(query).reduce((sum, devices) => sum + Object.keys(devices).length, 0);
  if (total > MAX_CLAIMS_PER_REQUEST) throw tooLarge(`one_time_keys may name at most ${MAX_CLAIMS_PER_REQUEST} devices`);
  const { local, failures } = splitLocalAndRemote(query, serverName);
  const result: KeyClaimResult = { one_time_keys: {}, failures };
  const wanted: KeyWanted[] = [];
  for (const [userId, devices] of local) for (const [deviceId, algorithm] of Object.entries(devices)) wanted.push({ user_id: userId, device_id: deviceId, algorithm });
  // Two statements for the whole request (a key share to a large room names hundreds of devices).
  const taken = await takeOneTimeKeys(db, wanted);
  const served = new Set(taken.map((key) => `${key.user_id}\0${key.device_id}`));
  const fallbacks = await useFallbackKeys(db, wanted.filter((w) => !served.has(`${w.user_id}\0${w.device_id}`)));
  for (const key of [...taken, ...fallbacks]) {
    ((result.one_time_keys[key.user_id] ??= {})[key.device_id] ??= {})[`${key.algorithm}:${key.key_id}`] = key.key_json;
  }
  return result;
}
