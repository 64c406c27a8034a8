import type { Queryable } from '../storage/database.ts';
import { currentStateEvents, joinedMembers } from '../storage/queries/room-state.ts';
import { memberDisplayNames, readReceiptPositionsByThread, threadRootsOf, unreadCandidates, type UnreadCandidate } from '../storage/queries/unread.ts';
import type { Ruleset } from '../push/default-rules.ts';
import { evaluatePushRules, highlights, notifies } from '../push/evaluate.ts';
import { sharedRead } from './shared-reads.ts';

/** Counting stops here: a room unread for longer shows this many (clients show "99+" long before). */
export const MAX_COUNTED_UNREAD = 1000;

export type UnreadCounts = {
  notification_count: number;
  highlight_count: number;
};

/** What counting needs of the user, loaded once per sync. */
export interface UnreadSetup {
  userId: string;
  ruleset: Ruleset;
  displayName: string | undefined;
  ignored: ReadonlySet<string>;
}

/** A room's counts split by thread: `main` for the main timeline, `threads` by thread root event ID. */
export interface ThreadedUnreadCounts {
  main: UnreadCounts;
  threads: Map<string, UnreadCounts>;
}

/** Spec: the thread ID of the main timeline, in receipts. */
const MAIN_THREAD = 'main';

/**
 * A room's `unread_notifications` for a user as of `upTo`: events since their
 * read receipt (or their own latest event, which counts as read) for which the
 * user's push rules say `notify`, and of those the ones with the highlight
 * tweak. Ignored users never count. Encrypted events are judged by their
 * outer type only (the server cannot read them); clients refine that.
 * Threaded receipts clear only their thread; the count covers every thread.
 */
export async function unreadCounts(db: Queryable, roomId: string, upTo: number, setup: UnreadSetup): Promise<UnreadCounts> {
  const { main, threads } = await unreadCountsByThread(db, roomId, upTo, setup);
  const total = { ...main };
  for (const counts of threads.values()) {
    total.notification_count += counts.notification_count;
    total.highlight_count += counts.highlight_count;
  }
  return total;
}

/**
 * The counts of the main timeline and of each thread with something unread
 * (spec: `unread_thread_notifications`). An event is in a thread when it is a
 * thread reply or relates to one (a reaction or edit of a reply); a thread's
 * root is in the main timeline. An event is read when the unthreaded receipt,
 * or the receipt of its thread, is at or after it, or when the user wrote
 * something later in the same thread (in the main timeline: anywhere).
 */
export async function unreadCountsByThread(db: Queryable, roomId: string, upTo: number, setup: UnreadSetup): Promise<ThreadedUnreadCounts> {
  const receipts = await readReceiptPositionsByThread(db, roomId, setup.userId);
  const unthreaded = receipts.get('') ?? 0;
  const readUpTo = (thread: string) => Math.max(unthreaded, receipts.get(thread) ?? 0);
  const events = await unreadCandidates(db, roomId, unthreaded, upTo, MAX_COUNTED_UNREAD);
  const result: ThreadedUnreadCounts = { main: { notification_count: 0, highlight_count: 0 }, threads: new Map() };
  if (events.length === 0) return result;
  const threadOf = await threadResolver(db, events);
  const [[members, [powerLevels]], displayNames] = await Promise.all([
    // The same for every member woken by one send (a membership or power change moves the room stream, so `upTo` keys it).
    sharedRead(db, `unread-room|${roomId}|${upTo}`, () => Promise.all([joinedMembers(db, roomId), currentStateEvents(db, roomId, [{ type: 'm.room.power_levels', state_key: '' }])])),
    memberDisplayNames(db, roomId, [setup.userId]),
  ]);
  // Spec: contains_display_name uses the user's display name in this room.
  const displayName = displayNames.has(setup.userId) ? (displayNames.get(setup.userId) ?? undefined) : setup.displayName;
  const levels = (powerLevels?.json.content ?? {}) as { users?: Record<string, unknown>; users_default?: unknown; notifications?: Record<string, unknown> };
  const levelOf = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback);
  const closedThreads = new Set<string>();
  for (const event of events) {
    const thread = threadOf(event);
    // One's own event marks what came before it in its thread read; in the main timeline, everything.
    if (event.sender === setup.userId) {
      if (thread === MAIN_THREAD) break;
      closedThreads.add(thread);
      continue;
    }
    if (closedThreads.has(thread) || event.stream_ordering <= readUpTo(thread) || setup.ignored.has(event.sender)) continue;
    const actions = evaluatePushRules(
      setup.ruleset,
      { type: event.type, sender: event.sender, room_id: roomId, ...(event.state_key === null ? {} : { state_key: event.state_key }), content: event.content },
      {
        userId: setup.userId,
        displayName,
        memberCount: members.length,
        senderPowerLevel: levelOf(levels.users?.[event.sender], levelOf(levels.users_default, 0)),
        notificationLevel: (key) => levelOf(levels.notifications?.[key], 50),
      },
    );
    if (!notifies(actions)) continue;
    let counts = thread === MAIN_THREAD ? result.main : result.threads.get(thread);
    if (!counts) result.threads.set(thread, (counts = { notification_count: 0, highlight_count: 0 }));
    counts.notification_count += 1;
    if (highlights(actions)) counts.highlight_count += 1;
  }
  return result;
}

/** The thread of each candidate: its own `m.thread` relation, else that of the event it relates to, else main. */
async function threadResolver(db: Queryable, events: readonly UnreadCandidate[]): Promise<(event: UnreadCandidate) => string> {
  const relationOf = (event: UnreadCandidate) => event.content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
  const targets = events.flatMap((event) => {
    const relation = relationOf(event);
    return relation && relation.rel_type !== 'm.thread' && typeof relation.event_id === 'string' ? [relation.event_id] : [];
  });
  const rootsOfTargets = await threadRootsOf(db, [...new Set(targets)]);
  return (event) => {
    const relation = relationOf(event);
    if (typeof relation?.event_id !== 'string') return MAIN_THREAD;
    if (relation.rel_type === 'm.thread') return relation.event_id;
    return rootsOfTargets.get(relation.event_id) ?? MAIN_THREAD;
  };
}

/** A joined room's unread fields of /sync: per thread when the filter asks (spec `unread_thread_notifications`). */
export async function unreadSections(
  db: Queryable,
  roomId: string,
  upTo: number,
  setup: UnreadSetup,
  perThread: boolean,
): Promise<{ unread_notifications: UnreadCounts; unread_thread_notifications?: Record<string, UnreadCounts> }> {
  if (!perThread) return { unread_notifications: await unreadCounts(db, roomId, upTo, setup) };
  const { main, threads } = await unreadCountsByThread(db, roomId, upTo, setup);
  return { unread_notifications: main, unread_thread_notifications: Object.fromEntries(threads) };
}
