import type { Queryable } from '../storage/database.ts';
import { countOneTimeKeys, listUnusedFallbackKeyAlgorithms } from '../storage/queries/device-keys.ts';

/**
 * `one_time_key_counts` of /keys/upload and /sync's `device_one_time_keys_count`
 * (algorithm → unclaimed keys). `signed_curve25519` is always listed, as
 * Synapse does: some clients read a missing count as "unknown", not zero.
 */
export async function oneTimeKeyCounts(db: Queryable, userId: string, deviceId: string): Promise<Record<string, number>> {
  return { signed_curve25519: 0, ...(await countOneTimeKeys(db, userId, deviceId)) };
}

/** For /sync: `device_unused_fallback_key_types` (algorithms whose fallback key is still unused). */
export async function unusedFallbackKeyTypes(db: Queryable, userId: string, deviceId: string): Promise<string[]> {
  return listUnusedFallbackKeyAlgorithms(db, userId, deviceId);
}
