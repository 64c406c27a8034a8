import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TypingListener, TypingStore } from './typing-store.ts';

/**
 * Typing shared by every process through Redis: Redis holds who types where
 * (a hash per room, user -> expiry in Redis's clock) and the stream position
 * (a counter); each change is published, and every process (the one that
 * made it too) applies it to a replica in memory that sync reads without a
 * round trip.
 *
 * Each change runs as one Lua script (check, write, INCR, PUBLISH), which Redis
 * runs atomically, so changes are published in position order and a replica
 * that has applied position P has applied everything below it: a sync token's
 * typing position means the same on every process.
 *
 * Timeouts: every process holding a typing user in its replica sets a timer
 * for the expiry; whichever fires first runs the stop script, which ends the
 * typing only if Redis still has it expired (a renewal in between wins) and
 * publishes the change once. So typing ends on time while any process runs.
 *
 * The counter starts at the current time in ms when missing (first use, or
 * after Redis lost its data), so positions never go backwards for tokens
 * clients already hold. A process started while someone types sees that
 * typing from the next change on (typing lasts seconds).
 */

/** Start or renew: sets the expiry; a user newly typing is a change (a new position). Returns the position, 0 for a renewal. */
const START_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[4])
local was = redis.call('HEXISTS', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[1], ARGV[3], expires)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
local position = 0
if was == 0 then
  if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], now) end
  position = redis.call('INCR', KEYS[2])
end
redis.call('PUBLISH', ARGV[1], cjson.encode({ r = ARGV[2], u = ARGV[3], t = 1, e = expires, p = position }))
return position
`;

/** Stop (ARGV[4] = '1': only if expired). Returns the new position, 0 if the user was not typing, or -(ms left) if not yet expired. */
const STOP_SCRIPT = `
local e = redis.call('HGET', KEYS[1], ARGV[3])
if not e then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[4] == '1' and tonumber(e) > now then return now - tonumber(e) end
redis.call('HDEL', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], now) end
local position = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({ r = ARGV[2], u = ARGV[3], t = 0, p = position }))
return position
`;

/** A room's typing hash outlives its longest timeout by this much, then Redis drops it. */
const ROOM_KEY_SLACK_MS = 60_000;
/** Rooms remembered with nobody typing (their last change is what a lagging sync still needs). */
const MAX_IDLE_ROOMS = 50_000;
/** Longest a set() waits for its change to come back over pub/sub (a broken subscription must not hang requests). */
const APPLY_WAIT_MS = 2_000;
/** When ending an expired typing failed (Redis away), the next try. */
const EXPIRY_RETRY_MS = 5_000;
/** A timer fires this long after the expiry, so the process that set it usually finds it expired. */
const EXPIRY_SLACK_MS = 50;

interface Change {
  r: string;
  u: string;
  t: 0 | 1;
  e?: number;
  p: number;
}

interface RoomTyping {
  users: Map<string, { timer: NodeJS.Timeout; expiresAt: number }>;
  position: number;
}

type ScriptedRedis = Redis & {
  typingStart(room: string, counter: string, channel: string, roomId: string, userId: string, timeoutMs: number, keyTtlMs: number): Promise<number>;
  typingStop(room: string, counter: string, channel: string, roomId: string, userId: string, onlyIfExpired: '0' | '1'): Promise<number>;
};

export async function createRedisTypingStore(redisUrl: string, prefix: string, onChange: TypingListener, logger: Logger): Promise<TypingStore> {
  const channel = `${prefix}:typing`;
  const counter = `${prefix}:typing:position`;
  const roomKey = (roomId: string) => `${prefix}:typing:room:${roomId}`;
  const commands = new Redis(redisUrl, { maxRetriesPerRequest: 3 }) as ScriptedRedis;
  const subscriber = new Redis(redisUrl);
  for (const connection of [commands, subscriber]) connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error (typing)'));
  commands.defineCommand('typingStart', { numberOfKeys: 2, lua: START_SCRIPT });
  commands.defineCommand('typingStop', { numberOfKeys: 2, lua: STOP_SCRIPT });

  const rooms = new Map<string, RoomTyping>();
  let position = 0;
  let stopped = false;
  /** set() calls waiting until this replica has applied their change. */
  const appliedWaiters = new Set<{ position: number; resolve: () => void }>();

  function expire(roomId: string, userId: string): void {
    if (stopped) return;
    commands.typingStop(roomKey(roomId), counter, channel, roomId, userId, '1').then(
      (result) => {
        // Not yet expired in Redis's clock (renewed, or clocks differ): look again then.
        const entry = rooms.get(roomId)?.users.get(userId);
        if (result < 0 && entry) {
          clearTimeout(entry.timer);
          entry.timer = schedule(roomId, userId, -result);
        }
      },
      (error: unknown) => {
        logger.warn({ err: error, roomId }, 'could not end a typing notification');
        // Try again later: a replica must not show someone typing forever because Redis was away once.
        const entry = rooms.get(roomId)?.users.get(userId);
        if (entry) entry.timer = schedule(roomId, userId, EXPIRY_RETRY_MS);
      },
    );
  }

  function schedule(roomId: string, userId: string, inMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => expire(roomId, userId), Math.max(0, inMs) + EXPIRY_SLACK_MS);
    timer.unref();
    return timer;
  }

  function apply(change: Change): void {
    let room = rooms.get(change.r);
    if (change.t === 1) {
      if (!room) rooms.set(change.r, (room = { users: new Map(), position: 0 }));
      clearTimeout(room.users.get(change.u)?.timer);
      const expiresAt = Number(change.e);
      room.users.set(change.u, { timer: schedule(change.r, change.u, expiresAt - Date.now()), expiresAt });
    } else if (room) {
      clearTimeout(room.users.get(change.u)?.timer);
      room.users.delete(change.u);
    }
    if (change.p > 0) {
      if (!room) rooms.set(change.r, (room = { users: new Map(), position: 0 }));
      room.position = change.p;
      position = Math.max(position, change.p);
      // Re-insert so Map order is oldest change first, for pruning idle rooms.
      rooms.delete(change.r);
      rooms.set(change.r, room);
      pruneIdleRooms();
      onChange(change.r, change.p);
      for (const waiter of appliedWaiters) if (waiter.position <= position) waiter.resolve();
    }
  }

  function pruneIdleRooms(): void {
    if (rooms.size <= MAX_IDLE_ROOMS) return;
    for (const [id, entry] of rooms) {
      if (rooms.size <= MAX_IDLE_ROOMS) break;
      if (entry.users.size === 0) rooms.delete(id);
    }
  }

  subscriber.on('message', (_channel, text) => {
    let change: Change;
    try {
      change = JSON.parse(text) as Change;
    } catch {
      return;
    }
    if (typeof change.r !== 'string' || typeof change.u !== 'string' || !Number.isSafeInteger(change.p)) return;
    apply(change);
  });
  await subscriber.subscribe(channel);
  // After subscribing: a change made in between is both counted here and delivered.
  position = Math.max(position, Number((await commands.get(counter)) ?? 0));

  /** Resolves once this replica applied `target` (or at shutdown), so the caller's next sync here sees its own change. */
  function applied(target: number): Promise<void> {
    if (target <= position || stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => waiter.resolve(), APPLY_WAIT_MS);
      const waiter = {
        position: target,
        resolve: () => {
          clearTimeout(timer);
          appliedWaiters.delete(waiter);
          resolve();
        },
      };
      appliedWaiters.add(waiter);
    });
  }

  return {
    async set(roomId, userId, typing, timeoutMs) {
      try {
        const changed = typing
          ? await commands.typingStart(roomKey(roomId), counter, channel, roomId, userId, timeoutMs, timeoutMs + ROOM_KEY_SLACK_MS)
          : await commands.typingStop(roomKey(roomId), counter, channel, roomId, userId, '0');
        await applied(changed);
      } catch (error) {
        // Typing is best effort: the request still succeeds, and the next notification retries.
        logger.warn({ err: error, roomId }, 'could not share a typing notification over Redis');
      }
    },
    currentPosition: () => position,
    typingIn(roomId) {
      const room = rooms.get(roomId);
      return room ? { userIds: [...room.users.keys()], position: room.position } : { userIds: [], position: 0 };
    },
    expiresAt: (roomId, userId) => rooms.get(roomId)?.users.get(userId)?.expiresAt,
    stop() {
      stopped = true;
      for (const room of rooms.values()) for (const entry of room.users.values()) clearTimeout(entry.timer);
      rooms.clear();
      for (const waiter of appliedWaiters) waiter.resolve();
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}
