import { sql } from 'kysely';
import type { Db, Tx } from '../storage/database.ts';
import type { TxHooks } from '../storage/transaction.ts';
import type { Notifier } from './notifier.ts';
import { createLocalPositionTracker } from './stream-positions.ts';
import type { StreamName } from './stream-token.ts';

/**
 * The writer side of a stream whose positions come from a Postgres sequence
 * (account data, receipts, presence), as stream-writer.ts is for room events:
 * positions are allocated inside the writing transaction, and the users a
 * change concerns are woken once the position is visible to readers.
 */
export interface SequenceStream {
  /** Readers see this stream up to and including this position. */
  currentPosition(): number;
  /** The next position, inside `tx`. Add the users to wake to `wake` before the transaction ends. */
  allocate(tx: Tx, hooks: TxHooks): Promise<{ position: number; wake: Set<string> }>;
}

export async function createSequenceStream(db: Db, notifier: Notifier, name: StreamName, sequence: string): Promise<SequenceStream> {
  // Everything the sequence handed out before this process started is committed or abandoned.
  const { rows } = await sql<{ last_value: string; is_called: boolean }>`SELECT last_value, is_called FROM ${sql.table(sequence)}`.execute(db);
  const initial = rows[0].is_called ? Number(rows[0].last_value) : Number(rows[0].last_value) - 1;
  const tracker = createLocalPositionTracker(initial);
  const waiting = new Map<number, Set<string>>();
  tracker.onAdvance((current) => {
    for (const [position, users] of waiting) {
      if (position > current) continue;
      waiting.delete(position);
      notifier.touch(name, users, position);
    }
  });

  return {
    currentPosition: () => tracker.currentPosition(),
    async allocate(tx, hooks) {
      const reservation = tracker.reserve();
      const wake = new Set<string>();
      let position: number | undefined;
      hooks.onEnd((committed) => {
        if (committed && position !== undefined) waiting.set(position, wake);
        reservation.settle();
      });
      const row = await sql<{ position: string }>`SELECT nextval(${sequence}) AS position`.execute(tx);
      position = Number(row.rows[0].position);
      reservation.assign(position);
      return { position, wake };
    },
  };
}
