import type { AppContext } from '../app-context.ts';
import type { SyncFilter } from './sync-filter.ts';
import { SyncResponseBuilder } from './sync-response.ts';
import { formatStreamToken, STREAMS, type StreamName, type StreamToken } from './stream-token.ts';
import { streamsFollowedBy, type StreamProvider, type SyncRequest } from './streams/provider.ts';
import { roomEventsProvider } from './streams/room-events.ts';
import { toDeviceProvider } from './streams/to-device.ts';
import { deviceListsProvider } from './streams/device-lists.ts';
import { accountDataProvider } from './streams/account-data.ts';
import { receiptsProvider } from './streams/receipts.ts';
import { typingProvider } from './streams/typing.ts';
import { presenceProvider } from './streams/presence.ts';
import { fillUnreadCounts } from './streams/unread-fill.ts';

/** One provider per stream, in token order. */
const PROVIDERS: readonly StreamProvider[] = [roomEventsProvider, toDeviceProvider, deviceListsProvider, accountDataProvider, receiptsProvider, typingProvider, presenceProvider];

/** Longest a long-poll is held, whatever the client asks. */
export const MAX_SYNC_TIMEOUT_MS = 5 * 60_000;

export interface SyncOptions {
  since: StreamToken | undefined;
  timeoutMs: number;
  fullState: boolean;
  filter: SyncFilter;
}

/**
 * GET /sync. An initial sync (no `since`) or `full_state` answers at once;
 * an incremental one with nothing new waits on the notifier until something
 * for this user becomes visible or the timeout passes. The listener is
 * registered before positions are read, so a change committed in between
 * wakes it. On an incremental sync a provider runs only when a stream it
 * follows moved (`dependsOn`), so a woken long-poll reads only what changed.
 */
export async function sync(app: AppContext, caller: { userId: string; deviceId: string }, options: SyncOptions): Promise<Record<string, unknown>> {
  const listener = app.notifier.listen(caller.userId, caller.deviceId);
  try {
    const deadline = Date.now() + Math.min(options.timeoutMs, MAX_SYNC_TIMEOUT_MS);
    // Positions below which every provider is known to add nothing: the token, then each empty pass's `upTo`.
    let checkedUpTo: StreamToken | undefined;
    for (;;) {
      const upTo = latestToken(app);
      const since = options.since && clampToken(options.since, upTo);
      const response = new SyncResponseBuilder();
      const request: SyncRequest = { userId: caller.userId, deviceId: caller.deviceId, since, upTo, fullState: options.fullState, filter: options.filter };
      const baseline = options.fullState ? undefined : (checkedUpTo ?? since);
      for (const provider of PROVIDERS) {
        if (baseline && !streamsFollowedBy(provider).some((name) => upTo[name] > baseline[name])) continue;
        await provider.collect(app, request, response);
      }
      const remaining = deadline - Date.now();
      // Nothing yet: wait for a change above what we just read, then read again.
      const answer = !since || options.fullState || !response.isEmpty() || remaining <= 0 || !(await listener.wait(upTo, remaining));
      if (answer) {
        await fillUnreadCounts(app, request, response);
        for (const provider of PROVIDERS) await provider.finish?.(app, request, response);
        return response.toJSON(formatStreamToken(response.nextToken(upTo)));
      }
      checkedUpTo = upTo;
    }
  } finally {
    listener.close();
  }
}

function latestToken(app: AppContext): StreamToken {
  const token = {} as Record<StreamName, number>;
  for (const name of STREAMS) token[name] = PROVIDERS.find((provider) => provider.name === name)?.latest(app) ?? 0;
  return token;
}

/** A token ahead of the server (a restored database, a token from elsewhere) reads as "now", never as the future. */
function clampToken(since: StreamToken, upTo: StreamToken): StreamToken {
  const token = {} as Record<StreamName, number>;
  for (const name of STREAMS) token[name] = Math.min(since[name], upTo[name]);
  return token;
}
