import type { Db } from '../storage/database.ts';
import { joinedMembers } from '../storage/queries/room-state.ts';
import type { Logger } from 'pino';
import type { Notifier } from './notifier.ts';
import { createSequenceStream, type SequenceStream } from './sequence-stream.ts';
import { createLocalTypingStore, type TypingStore } from './typing-store.ts';

/** The writer sides of the per-user and ephemeral streams, as the AppContext carries them. */
export interface UserDataStreams {
  /** Account data (global and per room): positions from `account_data_stream_seq`. */
  accountDataStream: SequenceStream;
  /** Read receipts: positions from `receipt_stream_seq`. */
  receiptStream: SequenceStream;
  /** Who is typing: in memory, per process. */
  typing: TypingStore;
  /** Presence changes: positions from `presence_stream_seq`. */
  presenceStream: SequenceStream;
}

export async function createUserDataStreams(db: Db, notifier: Notifier, logger: Logger): Promise<UserDataStreams> {
  const typing = createLocalTypingStore((roomId, position) => {
    // The change is visible at once (memory); who to wake is the room's members now.
    joinedMembers(db, roomId).then(
      (members) => notifier.touch('typing', members, position),
      (error: unknown) => logger.warn({ err: error, roomId }, 'could not wake the members of a room after a typing change'),
    );
  });
  return {
    accountDataStream: await createSequenceStream(db, notifier, 'account_data', 'account_data_stream_seq'),
    receiptStream: await createSequenceStream(db, notifier, 'receipt', 'receipt_stream_seq'),
    typing,
    presenceStream: await createSequenceStream(db, notifier, 'presence', 'presence_stream_seq'),
  };
}
