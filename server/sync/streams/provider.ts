import type { AppContext } from '../../app-context.ts';
import type { SyncFilter } from '../sync-filter.ts';
import type { SyncResponseBuilder } from '../sync-response.ts';
import type { StreamName, StreamToken } from '../stream-token.ts';

export interface SyncRequest {
  userId: string;
  deviceId: string;
  /** Undefined for an initial sync. */
  since: StreamToken | undefined;
  /** The positions this response covers; becomes `next_batch`. */
  upTo: StreamToken;
  fullState: boolean;
  filter: SyncFilter;
}

/**
 * Adding a stream (to-device, device lists, receipts, typing, account data, presence):
 *
 * 1. Append its name to STREAMS in stream-token.ts (old tokens still parse: the new part reads as 0).
 * 2. Give its writers positions readers can trust: allocate inside the writing transaction and
 *    settle with a PositionTracker (stream-positions.ts), as stream-writer.ts does for room events.
 * 3. After commit, and once the position is visible, call
 *    `app.notifier.touch('<stream>', userIds, position[, deviceId])` so long-polls wake.
 * 4. Write a StreamProvider under streams/ and add it to PROVIDERS in sync.ts (with `dependsOn` if
 *    what it adds also changes with another stream); put what it finds
 *    in the response builder (a room's ephemeral/account data, or a top-level section via
 *    `response.sections.set('to_device', …)`, which also makes a long-poll answer).
 *
 * One stream's part of /sync. `latest` is the position readers may see now;
 * `collect` adds what changed in (since, upTo] (everything up to `upTo` for an
 * initial sync) to the response.
 */
export interface StreamProvider {
  name: StreamName;
  latest(app: AppContext): number;
  /**
   * The streams whose movement can change what `collect` adds (default: its own).
   * On an incremental sync without `full_state`, `collect` is not called when none
   * of them moved since the token (or since the previous, empty pass of a
   * long-poll), so an idle stream costs no query. A provider that also follows
   * another stream (device lists follow room memberships) must list it.
   */
  dependsOn?: readonly StreamName[];
  collect(app: AppContext, request: SyncRequest, response: SyncResponseBuilder): Promise<void>;
  /**
   * What every response carries whether or not anything moved (one-time key
   * counts) or a once-per-request chore (deleting acknowledged to-device
   * messages): called once, for the response actually returned.
   */
  finish?(app: AppContext, request: SyncRequest, response: SyncResponseBuilder): Promise<void>;
}

/** The streams a provider follows. */
export function streamsFollowedBy(provider: StreamProvider): readonly StreamName[] {
  return provider.dependsOn ?? [provider.name];
}
