import type { AppContext } from '../app-context.ts';
import { announceVisibleEphemeralPositions } from '../storage/queries/appservices.ts';
import type { StreamName } from '../sync/stream-token.ts';
import { wakeDelivery } from './delivery-job.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** Streams whose changes appservices with `receive_ephemeral` (MSC2409) are sent. */
const EPHEMERAL_STREAMS: ReadonlySet<StreamName> = new Set(['typing', 'receipt', 'presence']);

const caresAbout = (registration: Registration, stream: StreamName) =>
  Boolean(registration.url) && (stream === 'device_lists' ? registration.deviceMasquerading : registration.receiveEphemeral && EPHEMERAL_STREAMS.has(stream));

/**
 * The writer side of ephemeral delivery, in API processes, as announce.ts is
 * for room events. The notifier is where every stream says "visible to
 * readers now, and these users are concerned" (after commit, once lower
 * positions settled), so delivery follows it rather than each writer:
 * - receipt and presence positions are recorded in `appservice_state`, so a
 *   delivery run in a worker (which does not see those streams move) reads
 *   exactly up to there;
 * - an appservice whose users are among those concerned is woken. Changes it
 *   hears of only through its rooms or aliases namespace go with its next
 *   wake-up (or the sweep's, within a minute).
 * Coalesced: a burst of changes is one update and one wake-up per appservice
 * while the previous ones are still under way.
 */
export function followEphemeralStreamsForAppservices(app: AppContext): void {
  const dirty = new Set<string>();
  const visible: { receipt?: number; presence?: number } = {};
  let running = false;

  const flush = async () => {
    running = true;
    try {
      while (dirty.size > 0 || visible.receipt !== undefined || visible.presence !== undefined) {
        const positions = { ...visible };
        delete visible.receipt;
        delete visible.presence;
        await announceVisibleEphemeralPositions(app.db, positions);
        const ids = [...dirty];
        dirty.clear();
        for (const id of ids) await wakeDelivery(app, id);
      }
    } catch (error) {
      // The sweep wakes delivery again within a minute, and the next change announces a higher position: delayed, not lost.
      app.logger.warn({ err: error }, 'could not announce an ephemeral change to appservice delivery');
    } finally {
      running = false;
    }
  };

  const touch = app.notifier.touch.bind(app.notifier);
  app.notifier.touch = (stream, userIds, position, deviceId) => {
    const users = [...userIds];
    touch(stream, users, position, deviceId);
    const registrations = app.appservices.all().filter((registration) => caresAbout(registration, stream));
    if (registrations.length === 0) return;
    if (stream === 'receipt' || stream === 'presence') visible[stream] = Math.max(visible[stream] ?? 0, position);
    for (const registration of registrations) if (users.some((userId) => ownsUser(registration, userId))) dirty.add(registration.id);
    if (!running) void flush();
  };
}
