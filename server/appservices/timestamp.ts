import { z } from 'zod';
import { invalidParam } from '../errors.ts';
import type { Caller } from '../http/auth.ts';

/** Spec (Application Service API, "Timestamp massaging"): `?ts=` sets origin_server_ts of what an appservice sends. */
export const TimestampQuery = z.looseObject({ ts: z.unknown().optional() });

/** The massaged timestamp, for appservices only (anyone else's `ts` is ignored, as Synapse does). */
export function massagedTimestamp(caller: Caller, query: { ts?: unknown }): number | undefined {
  if (!caller.appservice || query.ts === undefined) return undefined;
  if (typeof query.ts !== 'string' || !/^\d{1,15}$/.test(query.ts)) throw invalidParam('ts: expected a timestamp in milliseconds');
  return Number(query.ts);
}
