import type { Db } from '../storage/database.ts';
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
  reserve(hooks: TxHooks): { assign(position: number): void; wake: Set<string> };
  /** Called whenever `currentPosition()` advances (appservice delivery follows the stream this way). */
  onVisible(listener: (position: number) => void): void;
}

export async function createRoomEventStream(db: Db, notifier: Notifier): Promise<RoomEventStream> {
  const { max } = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max<number | null>('stream_ordering').as('max'))
    .executeTakeFirstOrThrow();
  const tracker: PositionTracker = createLocalPositionTracker(max ?? 0);
  /** Committed positions not yet visible, with the users to wake when they become so. */
  const waiting = new Map<number, Set<string>>();
  tracker.onAdvance((current) => {
    for (const [position, users] of waiting) {
      if (position > current) continue;
      waiting.delete(position);
      notifier.touch('room', users, position);
    }
  });

  return {
    currentPosition: () => tracker.currentPosition(),
    onVisible(listener) {
      tracker.onAdvance(listener);
    },
    reserve(hooks) {
      const reservation = tracker.reserve();
      const wake = new Set<string>();
      let position: number | undefined;
      hooks.onEnd((committed) => {
        if (committed && position !== undefined) waiting.set(position, wake);
        reservation.settle();
      });
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
