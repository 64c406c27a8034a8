import { sql } from 'kysely';
import type { Db, Tx } from '../storage/database.ts';
import type { TxHooks } from '../storage/transaction.ts';
import type { Notifier } from './notifier.ts';
import { createLocalPositionTracker, type PositionTracker } from './stream-positions.ts';

/**
 * The room-event stream's writer side: hands out positions inside writing
 * transactions and, once a position is visible to readers (committed, and
 * nothing lower still pending), tells the notifier which users it concerns.
 */
export interface RoomEventStream {
  /** Readers see events up to and including this position. */
  currentPosition(): number;
  /**
   * Holds readers back for a position about to be taken from the sequence inside the
   * writing transaction (the insert takes it, with `nextval`); `assign` it once known.
   * Add the users to wake to `wake` before the transaction ends.
   */
  reserve(tx: Tx, hooks: TxHooks): Promise<{ assign(position: number): void; wake: Set<string> }>;
  /** Called whenever `currentPosition()` advances (appservice delivery follows the stream this way). */
  onVisible(listener: (position: number) => void): void;
  /** Called with each position this process wrote, and the users it concerns, once it is visible (to tell other processes). */
  onLocalVisible(listener: (position: number, users: ReadonlySet<string>) => void): void;
  /** Another process announced `position` visible: advance to it (once local writers allow) and wake `users` then. */
  observeRemote(position: number, users: Iterable<string>): void;
  /**
   * Advances to every event committed by any process, read from Postgres (needs `serialiseWriters`):
   * recovers announcements lost while Redis was away. Wakes nobody; the next sync sees the events.
   */
  catchUp(): Promise<void>;
}

/**
 * Transaction-scoped advisory lock that orders room-event writers of every process (see `serialiseWriters`).
 * Its own key: it once shared the device-list stream's, which made event writes and key uploads wait on each other.
 */
const ROOM_EVENT_STREAM_LOCK = 0x7061_6c03;

/**
 * `serialiseWriters` (several API processes): writers take a transaction-scoped
 * advisory lock before allocating and hold it to commit, so positions commit in
 * allocation order across processes and a position one process announces
 * visible has nothing still being written below it anywhere. A single process
 * tracks its own writers instead and lets them run in parallel.
 */
export async function createRoomEventStream(db: Db, notifier: Notifier, options: { serialiseWriters?: boolean } = {}): Promise<RoomEventStream> {
  const { max } = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max<number | null>('stream_ordering').as('max'))
    .executeTakeFirstOrThrow();
  const tracker: PositionTracker = createLocalPositionTracker(max ?? 0);
  /** Committed positions not yet visible, with the users to wake when they become so. */
  const waiting = new Map<number, Set<string>>();
  /** The same for positions other processes wrote (woken here, never announced again). */
  const remoteWaiting = new Map<number, Set<string>>();
  const localVisible = new Set<(position: number, users: ReadonlySet<string>) => void>();
  tracker.onAdvance((current) => {
    for (const [position, users] of waiting) {
      if (position > current) continue;
      waiting.delete(position);
      notifier.touch('room', users, position);
      for (const listener of localVisible) listener(position, users);
    }
    for (const [position, users] of remoteWaiting) {
      if (position > current) continue;
      remoteWaiting.delete(position);
      notifier.touch('room', users, position);
    }
  });

  return {
    currentPosition: () => tracker.currentPosition(),
    onVisible(listener) {
      tracker.onAdvance(listener);
    },
    onLocalVisible(listener) {
      localVisible.add(listener);
    },
    observeRemote(position, users) {
      const set = remoteWaiting.get(position) ?? new Set<string>();
      for (const user of users) set.add(user);
      remoteWaiting.set(position, set);
      tracker.observe(position);
      // Already visible here (an older announcement): wake at once.
      if (tracker.currentPosition() >= position && remoteWaiting.delete(position)) notifier.touch('room', set, position);
    },
    async catchUp() {
      if (!options.serialiseWriters) return;
      // In shared mode the lock waits out every writer between allocating and committing.
      const head = await db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock_shared(${ROOM_EVENT_STREAM_LOCK})`.execute(tx);
        const row = await tx.selectFrom('events').select((eb) => eb.fn.max<number | null>('stream_ordering').as('max')).executeTakeFirstOrThrow();
        return Number(row.max ?? 0);
      });
      tracker.observe(head);
    },
    async reserve(tx, hooks) {
      const reservation = tracker.reserve();
      const wake = new Set<string>();
      let position: number | undefined;
      hooks.onEnd((committed) => {
        if (committed && position !== undefined) waiting.set(position, wake);
        reservation.settle();
      });
      // Before the insert takes its position: with several processes, commits follow allocation order.
      if (options.serialiseWriters) await sql`SELECT pg_advisory_xact_lock(${ROOM_EVENT_STREAM_LOCK})`.execute(tx);
      return {
        wake,
        assign(assigned) {
          position = assigned;
          reservation.assign(assigned);
        },
      };
    },
  };
}
