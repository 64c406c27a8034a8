import type { Db } from '../storage/database.ts';
import { joinedMembers } from '../storage/queries/room-state.ts';
import type { Logger } from 'pino';
import type { Notifier } from './notifier.ts';
import { createSequenceStream, type SequenceStream } from './sequence-stream.ts';
import { createLocalTypingStore, type TypingListener, type TypingStore } from './typing-store.ts';
import { createRedisTypingStore } from './typing-store-redis.ts';

/** The writer sides of the per-user and ephemeral streams, as the AppContext carries them. */
export interface UserDataStreams {
  /** Account data (global and per room): positions from `account_data_stream_seq`. */
  accountDataStream: SequenceStream;
  /** Read receipts: positions from `receipt_stream_seq`. */
  receiptStream: SequenceStream;
  /** Who is typing: in memory per process, or shared through Redis when configured. */
  typing: TypingStore;
  /** Presence changes: positions from `presence_stream_seq`. */
  presenceStream: SequenceStream;
}

/**
 * With `redis` there may be several processes: sequence-stream writers serialise across them (so
 * announced positions are sound, see sequence-stream.ts) and typing is held in Redis.
 */
export async function createUserDataStreams(db: Db, notifier: Notifier, logger: Logger, redis?: { url: string; prefix: string }): Promise<UserDataStreams> {
  const onTypingChange: TypingListener = (roomId, position) => {
    // The change is visible at once (memory); who to wake is the room's members now.
    joinedMembers(db, roomId).then(
      (members) => notifier.touch('typing', members, position),
      (error: unknown) => logger.warn({ err: error, roomId }, 'could not wake the members of a room after a typing change'),
    );
  };
  const serialiseWriters = redis !== undefined;
  const accountDataStream = await createSequenceStream(db, notifier, 'account_data', 'account_data_stream_seq', { serialiseWriters });
  const receiptStream = await createSequenceStream(db, notifier, 'receipt', 'receipt_stream_seq', { serialiseWriters });
  const presenceStream = await createSequenceStream(db, notifier, 'presence', 'presence_stream_seq', { serialiseWriters });
  // Last: it opens Redis connections, which `typing.stop()` closes.
  const typing = redis ? await createRedisTypingStore(redis.url, redis.prefix, onTypingChange, logger) : createLocalTypingStore(onTypingChange);
  return { accountDataStream, receiptStream, typing, presenceStream };
}
