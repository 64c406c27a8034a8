import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RoomEventStream } from './stream-writer.ts';

/**
 * A room with very many members is announced without its user list: other
 * processes still advance the stream, but their long-polls for it answer at
 * their timeout rather than at once.
 */
const MAX_USERS_PER_MESSAGE = 10_000;

export interface RoomEventFanout {
  stop(): Promise<void>;
}

interface Announcement {
  origin: string;
  position: number;
  users: string[];
}

/**
 * Several API processes: each announces, over Redis pub/sub, the room-event
 * positions it made visible and whom they concern; the others advance their
 * stream to it (once their own writers below it have settled) and wake those
 * users' long-polls. Carries positions and user IDs, never event content.
 *
 * Sound because, with Redis, room-event writers of every process commit in
 * position order (`serialiseWriters` in stream-writer.ts): a position announced
 * visible has nothing still being written below it in any process. A lost
 * message (Redis restart) delays wake-ups until the next one, which carries a
 * higher position.
 */
export async function startRoomEventFanout(redisUrl: string, prefix: string, roomEvents: RoomEventStream, logger: Logger): Promise<RoomEventFanout> {
  const origin = randomUUID();
  const channel = `${prefix}:room-events`;
  const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const subscriber = new Redis(redisUrl);
  for (const connection of [publisher, subscriber]) connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error (notifier)'));
  await subscriber.subscribe(channel);
  subscriber.on('message', (_channel, text) => {
    let announcement: Announcement;
    try {
      announcement = JSON.parse(text) as Announcement;
    } catch {
      return;
    }
    if (announcement.origin === origin || !Number.isSafeInteger(announcement.position) || !Array.isArray(announcement.users)) return;
    roomEvents.observeRemote(announcement.position, announcement.users);
  });
  roomEvents.onLocalVisible((position, users) => {
    const message: Announcement = { origin, position, users: users.size <= MAX_USERS_PER_MESSAGE ? [...users] : [] };
    publisher.publish(channel, JSON.stringify(message)).catch((error) => logger.warn({ err: error }, 'could not announce a room-event position'));
  });
  return {
    async stop() {
      await subscriber.quit().catch(() => subscriber.disconnect());
      await publisher.quit().catch(() => publisher.disconnect());
    },
  };
}
