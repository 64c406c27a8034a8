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
  /** Called with each position this process wrote, and the users it concerns, once it is visible (to tell other processes). */
  onLocalVisible(listener: (position: number, users: ReadonlySet<string>) => void): void;
  /** Another process announced `position` visible: advance to it (once local writers allow) and wake `users` then. */
  observeRemote(position: number, users: Iterable<string>): void;
  /**
   * Advances to everything committed by any process, read from Postgres (needs `serialiseWriters`):
   * recovers announcements lost while Redis was away. Wakes nobody; the next sync sees the changes.
   */
  catchUp(): Promise<void>;
}

/**
 * The transaction-scoped advisory lock each sequence stream's writers take
 * with `serialiseWriters` (distinct from the room-event, to-device and
 * device-list locks; one transaction never writes two of these streams).
 */
const SEQUENCE_STREAM_LOCKS: Record<string, number> = {
  account_data_stream_seq: 0x7061_6c04,
  receipt_stream_seq: 0x7061_6c05,
  presence_stream_seq: 0x7061_6c06,
};

/**
 * `serialiseWriters` (several API processes, i.e. Redis configured): a writer
 * takes its stream's advisory lock before `nextval` and holds it to commit, so
 * positions commit in allocation order across processes. A position another
 * process announces visible then has nothing still being written below it in
 * any process, and this process shows it once its own writers below it (which
 * may be waiting for the lock) have settled. A single process tracks its own
 * writers instead and lets them run in parallel.
 */
export async function createSequenceStream(
  db: Db,
  notifier: Notifier,
  name: StreamName,
  sequence: string,
  options: { serialiseWriters?: boolean } = {},
): Promise<SequenceStream> {
  const lock = SEQUENCE_STREAM_LOCKS[sequence];
  if (lock === undefined) throw new Error(`no stream lock for sequence ${sequence}`);
  // Under the lock in shared mode no serialised writer is between nextval and commit, so everything the
  // sequence handed out is committed or abandoned (and a single process has no writers yet).
  const readHead = () =>
    db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock_shared(${lock})`.execute(tx);
      const { rows } = await sql<{ last_value: string; is_called: boolean }>`SELECT last_value, is_called FROM ${sql.table(sequence)}`.execute(tx);
      return rows[0].is_called ? Number(rows[0].last_value) : Number(rows[0].last_value) - 1;
    });
  const tracker = createLocalPositionTracker(await readHead());
  /** Committed positions not yet visible, with the users to wake when they become so. */
  const waiting = new Map<number, Set<string>>();
  /** The same for positions other processes wrote (woken here, never announced again). */
  const remoteWaiting = new Map<number, Set<string>>();
  const localVisible = new Set<(position: number, users: ReadonlySet<string>) => void>();
  tracker.onAdvance((current) => {
    for (const [position, users] of waiting) {
      if (position > current) continue;
      waiting.delete(position);
      notifier.touch(name, users, position);
      for (const listener of localVisible) listener(position, users);
    }
    for (const [position, users] of remoteWaiting) {
      if (position > current) continue;
      remoteWaiting.delete(position);
      notifier.touch(name, users, position);
    }
  });

  return {
    currentPosition: () => tracker.currentPosition(),
    onLocalVisible(listener) {
      localVisible.add(listener);
    },
    observeRemote(position, users) {
      const set = remoteWaiting.get(position) ?? new Set<string>();
      for (const user of users) set.add(user);
      remoteWaiting.set(position, set);
      tracker.observe(position);
      // Already visible here (an older announcement): wake at once.
      if (tracker.currentPosition() >= position && remoteWaiting.delete(position)) notifier.touch(name, set, position);
    },
    async catchUp() {
      if (options.serialiseWriters) tracker.observe(await readHead());
    },
    async allocate(tx, hooks) {
      const reservation = tracker.reserve();
      const wake = new Set<string>();
      let position: number | undefined;
      hooks.onEnd((committed) => {
        if (committed && position !== undefined) waiting.set(position, wake);
        reservation.settle();
      });
      if (options.serialiseWriters) await sql`SELECT pg_advisory_xact_lock(${lock})`.execute(tx);
      const row = await sql<{ position: string }>`SELECT nextval(${sequence}) AS position`.execute(tx);
      position = Number(row.rows[0].position);
      reservation.assign(position);
      return { position, wake };
    },
  };
}
