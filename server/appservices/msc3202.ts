import { oneTimeKeyCounts, unusedFallbackKeyTypes } from '../e2ee/key-counts.ts';
import type { Queryable } from '../storage/database.ts';
import { listDevices } from '../storage/queries/devices.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** Users whose device key state one transaction reports; the rest wait for a later one. */
const MAX_USERS_PER_TRANSACTION = 100;

/**
 * MSC3202 (appservices holding E2EE devices): a transaction to an appservice
 * with `org.matrix.msc3202` carries, for its sender and for its users the
 * transaction mentions, each device's one-time key counts and unused fallback
 * key types, as /sync gives a client, so its bots know when to upload more.
 * Both names Synapse has used for the counts are sent.
 */
export async function deviceKeyExtensions(db: Queryable, registration: Registration, mentioned: Iterable<string>): Promise<Record<string, unknown>> {
  if (!registration.deviceMasquerading) return {};
  const users = [registration.senderUserId, ...new Set([...mentioned].filter((userId) => userId !== registration.senderUserId && ownsUser(registration, userId)))].slice(
    0,
    MAX_USERS_PER_TRANSACTION,
  );
  const counts: Record<string, Record<string, Record<string, number>>> = {};
  const fallback: Record<string, Record<string, string[]>> = {};
  for (const userId of users) {
    for (const device of await listDevices(db, userId)) {
      (counts[userId] ??= {})[device.device_id] = await oneTimeKeyCounts(db, userId, device.device_id);
      (fallback[userId] ??= {})[device.device_id] = await unusedFallbackKeyTypes(db, userId, device.device_id);
    }
  }
  return {
    'org.matrix.msc3202.device_one_time_keys_count': counts,
    'org.matrix.msc3202.device_one_time_key_counts': counts,
    'org.matrix.msc3202.device_unused_fallback_key_types': fallback,
  };
}
