/**
 * Who is typing in which room. Typing lives for seconds and is never stored
 * in Postgres. This file is the single-process version, held in memory, with
 * its own stream position (a counter that advances on every change, including
 * a timeout). With Redis configured (several API processes), typing-store-redis.ts
 * shares it: Redis holds the state and the position, each process a replica.
 */
export interface TypingStore {
  /**
   * Starts (for `timeoutMs`) or stops `userId` typing in `roomId`. The Redis store
   * resolves once this process's syncs see the change; it never rejects (typing is best effort).
   */
  set(roomId: string, userId: string, typing: boolean, timeoutMs: number): void | Promise<void>;
  /** Readers see typing changes up to this position. */
  currentPosition(): number;
  /** Who types in `roomId` now, and the position of the room's last change (0 if never). */
  typingIn(roomId: string): { userIds: string[]; position: number };
  /** When `userId`'s typing in `roomId` ends unless renewed (ms since the epoch), or undefined when not typing. */
  expiresAt(roomId: string, userId: string): number | undefined;
  /** Clears every timer (shutdown). */
  stop(): void;
}

/** Called after each change with the room and the new position (to wake the room's members). */
export type TypingListener = (roomId: string, position: number) => void;

interface RoomTyping {
  /** Typing users, the timer that ends their typing and when it fires. */
  users: Map<string, { timer: NodeJS.Timeout; expiresAt: number }>;
  position: number;
}

/** Rooms remembered with nobody typing (their last change is what a lagging sync still needs). */
const MAX_IDLE_ROOMS = 50_000;

export function createLocalTypingStore(onChange: TypingListener): TypingStore {
  const rooms = new Map<string, RoomTyping>();
  let position = 0;

  function changed(roomId: string, room: RoomTyping): void {
    room.position = ++position;
    // Re-insert so Map order is oldest change first, for pruning idle rooms.
    rooms.delete(roomId);
    rooms.set(roomId, room);
    if (rooms.size > MAX_IDLE_ROOMS) {
      for (const [id, entry] of rooms) {
        if (rooms.size <= MAX_IDLE_ROOMS) break;
        if (entry.users.size === 0) rooms.delete(id);
      }
    }
    onChange(roomId, position);
  }

  function stopTyping(roomId: string, userId: string): void {
    const room = rooms.get(roomId);
    const entry = room?.users.get(userId);
    if (!room || !entry) return;
    clearTimeout(entry.timer);
    room.users.delete(userId);
    changed(roomId, room);
  }

  return {
    set(roomId, userId, typing, timeoutMs) {
      if (!typing) return stopTyping(roomId, userId);
      let room = rooms.get(roomId);
      if (!room) rooms.set(roomId, (room = { users: new Map(), position: 0 }));
      const wasTyping = room.users.has(userId);
      clearTimeout(room.users.get(userId)?.timer);
      const timer = setTimeout(() => stopTyping(roomId, userId), timeoutMs);
      timer.unref();
      room.users.set(userId, { timer, expiresAt: Date.now() + timeoutMs });
      // Extending a timeout changes nothing others can see.
      if (!wasTyping) changed(roomId, room);
    },
    currentPosition: () => position,
    typingIn(roomId) {
      const room = rooms.get(roomId);
      return room ? { userIds: [...room.users.keys()], position: room.position } : { userIds: [], position: 0 };
    },
    expiresAt: (roomId, userId) => rooms.get(roomId)?.users.get(userId)?.expiresAt,
    stop() {
      for (const room of rooms.values()) for (const entry of room.users.values()) clearTimeout(entry.timer);
      rooms.clear();
    },
  };
}
