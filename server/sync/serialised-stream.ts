/**
 * Positions of a stream whose writers commit in allocation order: they take a
 * transaction-scoped Postgres advisory lock just before inserting and hold it
 * to commit (the to-device and device-list streams, see their queries). Once a
 * writer has committed position N, everything at or below N is committed too,
 * so readers may see up to the highest position any writer reported after
 * commit; no reservation is needed, unlike the room stream's PositionTracker.
 *
 * The lock is Postgres's, so it orders the writers of every process: with
 * several API processes, a position another process reports committed (over
 * Redis, sync/redis-fanout.ts) is just as safe to advance to.
 */
export interface SerialisedStream {
  /** Readers see this position and everything below it. */
  currentPosition(): number;
  /** A writer committed `position` (call after commit; lower or repeated positions are ignored). */
  advance(position: number): void;
}

/** `initial` is the stream's head in the database at start-up. */
export function createSerialisedStream(initial: number): SerialisedStream {
  let current = initial;
  return {
    currentPosition: () => current,
    advance(position) {
      if (position > current) current = position;
    },
  };
}
