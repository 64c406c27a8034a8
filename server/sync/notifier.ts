import { STREAMS, type StreamName, type StreamToken } from './stream-token.ts';

/**
 * Wakes long-polling /sync requests. It carries positions, never data: a woken
 * request reads what changed itself. Writers call `touch` for a stream position
 * once that position is visible to readers (after commit, and after every lower
 * position settled). A listener registered before the reader read its positions
 * cannot miss a change, and one that is already behind (its user was touched
 * above its `since` on some stream) wakes at once.
 *
 * In-process only. With several processes the touches are published over
 * Redis pub/sub and each process feeds them into its own notifier.
 */
export interface Notifier {
  /** Registers interest in a user's (and device's) streams before the caller reads stream positions. */
  listen(userId: string, deviceId?: string): Listener;
  /**
   * `userIds` have something new at `position` of `stream`. With `deviceId`,
   * only that device's listeners wake (to-device messages).
   */
  touch(stream: StreamName, userIds: Iterable<string>, position: number, deviceId?: string): void;
  /** Listeners currently waiting for `userId` (for metrics, and for tests that must know a long-poll is parked). */
  waitingFor(userId: string): number;
  /** Wakes every listener (shutdown); later listeners resolve at once. */
  stop(): void;
}

export interface Listener {
  /**
   * Resolves `true` as soon as the user was touched on any stream above its
   * position in `since` (at once if that already happened), `false` after
   * `timeoutMs` or on shutdown.
   */
  wait(since: StreamToken, timeoutMs: number): Promise<boolean>;
  /** Unregisters; call when the request finishes either way. */
  close(): void;
}

type Positions = Record<StreamName, number>;

interface Waiter {
  deviceId: string | undefined;
  /** Highest position per stream the user was touched at (seeded from before registration). */
  touched: Positions;
  wake: (() => void) | undefined;
}

/** How many users' last-touched positions to remember (an LRU of active users). */
const MAX_REMEMBERED_USERS = 100_000;

const zeroPositions = (): Positions => Object.fromEntries(STREAMS.map((name) => [name, 0])) as Positions;
const isBehind = (touched: Positions, since: StreamToken) => STREAMS.some((name) => touched[name] > since[name]);

export function createNotifier(): Notifier {
  const waitersByUser = new Map<string, Set<Waiter>>();
  /** Per user: the last touch of each stream. Device-only touches are not remembered (they wake live listeners only). */
  const lastTouched = new Map<string, Positions>();
  let stopped = false;

  function remember(userId: string, stream: StreamName, position: number): void {
    const positions = lastTouched.get(userId) ?? zeroPositions();
    positions[stream] = Math.max(positions[stream], position);
    lastTouched.delete(userId);
    lastTouched.set(userId, positions);
    if (lastTouched.size > MAX_REMEMBERED_USERS) lastTouched.delete(lastTouched.keys().next().value as string);
  }

  return {
    listen(userId, deviceId) {
      const waiter: Waiter = { deviceId, touched: { ...(lastTouched.get(userId) ?? zeroPositions()) }, wake: undefined };
      let set = waitersByUser.get(userId);
      if (!set) waitersByUser.set(userId, (set = new Set()));
      set.add(waiter);
      return {
        close() {
          const current = waitersByUser.get(userId);
          current?.delete(waiter);
          if (current?.size === 0) waitersByUser.delete(userId);
        },
        wait(since, timeoutMs) {
          if (stopped || isBehind(waiter.touched, since)) return Promise.resolve(isBehind(waiter.touched, since));
          return new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => finish(false), timeoutMs);
            const finish = (woken: boolean) => {
              clearTimeout(timer);
              waiter.wake = undefined;
              resolve(woken);
            };
            waiter.wake = () => {
              if (stopped) finish(false);
              else if (isBehind(waiter.touched, since)) finish(true);
            };
          });
        },
      };
    },
    touch(stream, userIds, position, deviceId) {
      for (const userId of userIds) {
        if (deviceId === undefined) remember(userId, stream, position);
        for (const waiter of waitersByUser.get(userId) ?? []) {
          if (deviceId !== undefined && waiter.deviceId !== deviceId) continue;
          waiter.touched[stream] = Math.max(waiter.touched[stream], position);
          waiter.wake?.();
        }
      }
    },
    waitingFor(userId) {
      let count = 0;
      for (const waiter of waitersByUser.get(userId) ?? []) if (waiter.wake) count += 1;
      return count;
    },
    stop() {
      stopped = true;
      for (const set of waitersByUser.values()) for (const waiter of set) waiter.wake?.();
    },
  };
}
