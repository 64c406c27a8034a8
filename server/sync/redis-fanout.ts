import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { E2eeAnnouncement, E2eeStreams } from '../e2ee/e2ee-streams.ts';
import type { Notifier } from './notifier.ts';
import type { SequenceStream } from './sequence-stream.ts';
import type { RoomEventStream } from './stream-writer.ts';

/**
 * A change concerning very many users (a huge room) is announced without its
 * user list: other processes still advance the stream, but their long-polls
 * for it answer at their timeout rather than at once.
 */
const MAX_USERS_PER_MESSAGE = 10_000;

/** How often each process re-reads the stream heads from Postgres, in case an announcement was lost. */
const CATCH_UP_INTERVAL_MS = 5_000;

export interface StreamFanout {
  stop(): Promise<void>;
}

/** The streams the fan-out carries (typing has its own Redis store, typing-store-redis.ts). */
export interface FannedOutStreams {
  notifier: Notifier;
  roomEvents: RoomEventStream;
  e2eeStreams: E2eeStreams;
  accountDataStream: SequenceStream;
  receiptStream: SequenceStream;
  presenceStream: SequenceStream;
}

type SequenceStreamName = 'account_data' | 'receipt' | 'presence';

/** What goes over the wire: positions and user (and device) IDs, never content. */
type Announcement = { origin: string } & (
  | { stream: 'room' | SequenceStreamName; position: number; users: string[] }
  | E2eeAnnouncement
);

/**
 * Several API processes (and workers): each announces, over one Redis pub/sub
 * channel, the stream positions it made visible and whom they concern; the
 * others advance their streams to them and wake those users' long-polls (for
 * to-device messages, those devices'). Sync tokens are then interchangeable
 * between processes, since every stream's positions come from Postgres.
 *
 * Sound because, with Redis, the writers of every stream commit in position
 * order across processes (a stream-wide Postgres advisory lock held from
 * allocating a position to commit: `serialiseWriters` in stream-writer.ts and
 * sequence-stream.ts, and the to-device and device-list stream locks): a
 * position announced visible has nothing still being written below it in any
 * process. A lost message (Redis restart) delays the wake-ups it carried to
 * the long-polls' timeout; the stream itself advances at the next
 * announcement or the next catch-up from Postgres (every few seconds).
 */
export async function startStreamFanout(redisUrl: string, prefix: string, streams: FannedOutStreams, logger: Logger): Promise<StreamFanout> {
  const origin = randomUUID();
  const channel = `${prefix}:streams`;
  const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const subscriber = new Redis(redisUrl);
  for (const connection of [publisher, subscriber]) connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error (notifier)'));
  const sequenceStreams: Record<SequenceStreamName, SequenceStream> = {
    account_data: streams.accountDataStream,
    receipt: streams.receiptStream,
    presence: streams.presenceStream,
  };

  await subscriber.subscribe(channel);
  subscriber.on('message', (_channel, text) => {
    let announcement: Announcement;
    try {
      announcement = JSON.parse(text) as Announcement;
    } catch {
      return;
    }
    if (announcement.origin === origin || !Number.isSafeInteger(announcement.position)) return;
    if (announcement.stream === 'to_device') {
      if (Array.isArray(announcement.devices)) streams.e2eeStreams.apply(announcement, streams.notifier, false);
      return;
    }
    if (!Array.isArray(announcement.users)) return;
    if (announcement.stream === 'device_lists') streams.e2eeStreams.apply(announcement, streams.notifier, false);
    else if (announcement.stream === 'room') streams.roomEvents.observeRemote(announcement.position, announcement.users);
    else sequenceStreams[announcement.stream]?.observeRemote(announcement.position, announcement.users);
  });

  const publish = (message: Announcement) =>
    publisher.publish(channel, JSON.stringify(message)).catch((error) => logger.warn({ err: error, stream: message.stream }, 'could not announce a stream position'));
  const usersOf = (users: Iterable<string> & { size?: number; length?: number }) => ((users.size ?? users.length ?? 0) <= MAX_USERS_PER_MESSAGE ? [...users] : []);

  streams.roomEvents.onLocalVisible((position, users) => publish({ origin, stream: 'room', position, users: usersOf(users) }));
  for (const [stream, sequenceStream] of Object.entries(sequenceStreams) as [SequenceStreamName, SequenceStream][]) {
    sequenceStream.onLocalVisible((position, users) => publish({ origin, stream, position, users: usersOf(users) }));
  }
  streams.e2eeStreams.onLocalAnnounce((announcement) => {
    if (announcement.stream === 'to_device') publish({ origin, ...announcement, devices: announcement.devices.length <= MAX_USERS_PER_MESSAGE ? announcement.devices : [] });
    else publish({ origin, ...announcement, users: usersOf(announcement.users) });
  });

  // A message lost while Redis was away would leave a quiet stream behind here until its next change:
  // every few seconds, advance every stream to what Postgres holds (sound for the same reason as above).
  const catchUp = setInterval(() => {
    const all = [streams.roomEvents.catchUp(), streams.e2eeStreams.catchUp(), ...Object.values(sequenceStreams).map((stream) => stream.catchUp())];
    Promise.all(all).catch((error: unknown) => logger.warn({ err: error }, 'could not catch the streams up with Postgres'));
  }, CATCH_UP_INTERVAL_MS);
  catchUp.unref();

  return {
    async stop() {
      clearInterval(catchUp);
      await subscriber.quit().catch(() => subscriber.disconnect());
      await publisher.quit().catch(() => publisher.disconnect());
    },
  };
}
