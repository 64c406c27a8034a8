/**
 * Which positions of a stream readers may see. Positions are allocated from a
 * Postgres sequence inside the writing transaction, so allocation order is not
 * commit order: position 7 may commit while 6 is still being written. A reader
 * that jumped to 7 would never see 6. So readers see a stream only up to
 * `currentPosition()`: the highest position with nothing still unsettled at or
 * below it.
 *
 * This tracker knows only the writers of this process. With several API
 * processes (Redis configured) the writers of every process also commit in
 * allocation order (a stream-wide Postgres advisory lock held from allocating
 * to commit), so a position another process announces visible (`observe`) has
 * nothing in flight below it anywhere but, perhaps, this process's own
 * writers, which this tracker still waits for. See sync/redis-fanout.ts.
 */
export interface PositionTracker {
  /** Call before asking the sequence for a position; settle the reservation when the transaction ends. */
  reserve(): PositionReservation;
  /** Highest position below which everything is committed or abandoned. */
  currentPosition(): number;
  /** Called (synchronously) whenever `currentPosition()` advances. */
  onAdvance(listener: (position: number) => void): () => void;
  /**
   * Another process made everything up to `position` visible (it announced
   * so over Redis): this process may show it too once its own writers below
   * it have settled.
   */
  observe(position: number): void;
}

export interface PositionReservation {
  /** The position the sequence gave this writer. */
  assign(position: number): void;
  /** The transaction ended (committed or rolled back): the position no longer holds readers back. */
  settle(): void;
}

/** One writer between `reserve()` and `settle()`: its position, or the floor it will exceed once known. */
interface InFlight {
  position: number | undefined;
  /** Every position allocated before this reservation was made; its own will be higher. */
  floor: number;
}

/** The single-process tracker. `initial` is the highest position already in the database. */
export function createLocalPositionTracker(initial: number): PositionTracker {
  const inFlight = new Set<InFlight>();
  const listeners = new Set<(position: number) => void>();
  let highestAllocated = initial;
  let current = initial;

  function recompute(): void {
    let limit = highestAllocated;
    for (const writer of inFlight) {
      limit = Math.min(limit, writer.position === undefined ? writer.floor : writer.position - 1);
    }
    if (limit > current) {
      current = limit;
      for (const listener of listeners) listener(current);
    }
  }

  return {
    reserve() {
      const writer: InFlight = { position: undefined, floor: highestAllocated };
      inFlight.add(writer);
      let settled = false;
      return {
        assign(position) {
          writer.position = position;
          highestAllocated = Math.max(highestAllocated, position);
        },
        settle() {
          if (settled) return;
          settled = true;
          inFlight.delete(writer);
          recompute();
        },
      };
    },
    currentPosition: () => current,
    observe(position) {
      if (position <= highestAllocated) return;
      highestAllocated = position;
      recompute();
    },
    onAdvance(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
