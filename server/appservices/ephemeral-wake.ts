import type { AppContext } from '../app-context.ts';
import type { StreamName } from '../sync/stream-token.ts';
import { wakeDelivery } from './delivery-job.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** Streams whose changes appservices with `receive_ephemeral` (MSC2409) are sent. */
const EPHEMERAL_STREAMS: ReadonlySet<StreamName> = new Set(['typing', 'receipt', 'presence']);

const caresAbout = (registration: Registration, stream: StreamName) =>
  Boolean(registration.url) && (stream === 'device_lists' ? registration.deviceMasquerading : registration.receiveEphemeral && EPHEMERAL_STREAMS.has(stream));

/**
 * Wakes appservice delivery when typing, receipts, presence or device lists
 * move. The notifier is where every stream says "visible to readers now, and
 * these users are concerned" (after commit, once lower positions settled), so
 * delivery is woken from there rather than from each writer: an appservice
 * whose users are among those concerned is woken. Changes it hears of only
 * through its rooms namespace are picked up by the next wake-up or the sweep.
 * Coalesced per appservice: a burst of changes is one wake-up while the
 * previous one is still being queued.
 */
export function followEphemeralStreamsForAppservices(app: AppContext): void {
  const dirty = new Set<string>();
  let running = false;

  const flush = async () => {
    running = true;
    try {
      while (dirty.size > 0) {
        const ids = [...dirty];
        dirty.clear();
        for (const id of ids) await wakeDelivery(app, id);
      }
    } catch (error) {
      // The sweep wakes delivery again within a minute: delayed, not lost.
      app.logger.warn({ err: error }, 'could not wake appservice delivery after an ephemeral change');
    } finally {
      running = false;
    }
  };

  const touch = app.notifier.touch.bind(app.notifier);
  app.notifier.touch = (stream, userIds, position, deviceId) => {
    const users = [...userIds];
    touch(stream, users, position, deviceId);
    for (const registration of app.appservices.all()) {
      if (caresAbout(registration, stream) && users.some((userId) => ownsUser(registration, userId))) dirty.add(registration.id);
    }
    if (dirty.size > 0 && !running) void flush();
  };
}
