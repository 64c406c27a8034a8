import type { Queryable } from '../storage/database.ts';
import { currentStateEvents, joinedMembers } from '../storage/queries/room-state.ts';
import { readReceiptPosition, unreadCandidates } from '../storage/queries/unread.ts';
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

/**
 * A room's `unread_notifications` for a user as of `upTo`: events since their
 * read receipt (or their own latest event, which counts as read) for which the
 * user's push rules say `notify`, and of those the ones with the highlight
 * tweak. Ignored users never count. Encrypted events are judged by their
 * outer type only (the server cannot read them); clients refine that.
 */
export async function unreadCounts(db: Queryable, roomId: string, upTo: number, setup: UnreadSetup): Promise<UnreadCounts> {
  const events = await unreadCandidates(db, roomId, await readReceiptPosition(db, roomId, setup.userId), upTo, MAX_COUNTED_UNREAD);
  const counts: UnreadCounts = { notification_count: 0, highlight_count: 0 };
  if (events.length === 0 || events[0].sender === setup.userId) return counts;
  // The same for every member woken by one send (a membership or power change moves the room stream, so `upTo` keys it).
  const [members, [powerLevels]] = await sharedRead(db, `unread-room|${roomId}|${upTo}`, () =>
    Promise.all([joinedMembers(db, roomId), currentStateEvents(db, roomId, [{ type: 'm.room.power_levels', state_key: '' }])]),
  );
  const levels = (powerLevels?.json.content ?? {}) as { users?: Record<string, unknown>; users_default?: unknown; notifications?: Record<string, unknown> };
  const levelOf = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback);
  for (const event of events) {
    // One's own event (a message, or one's join) marks everything before it read.
    if (event.sender === setup.userId) break;
    if (setup.ignored.has(event.sender)) continue;
    const actions = evaluatePushRules(
      setup.ruleset,
      { type: event.type, sender: event.sender, room_id: roomId, ...(event.state_key === null ? {} : { state_key: event.state_key }), content: event.content },
      {
        userId: setup.userId,
        displayName: setup.displayName,
        memberCount: members.length,
        senderPowerLevel: levelOf(levels.users?.[event.sender], levelOf(levels.users_default, 0)),
        notificationLevel: (key) => levelOf(levels.notifications?.[key], 50),
      },
    );
    if (!notifies(actions)) continue;
    counts.notification_count += 1;
    if (highlights(actions)) counts.highlight_count += 1;
  }
  return counts;
}
