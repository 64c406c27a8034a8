import type { Queryable } from '../storage/database.ts';
import { readReceiptPosition, unreadCandidates, type UnreadCandidate } from '../storage/queries/unread.ts';
import { findUser } from '../storage/queries/users.ts';

/** Counting stops here: a room unread for longer shows this many (clients show "99+" long before). */
export const MAX_COUNTED_UNREAD = 1000;

/** Event types the spec's default push rules notify for (.m.rule.message, .m.rule.encrypted, .m.rule.call). */
const NOTIFYING_TYPES = new Set(['m.room.message', 'm.room.encrypted', 'm.call.invite', 'm.sticker', 'm.poll.start']);

export type UnreadCounts = {
  notification_count: number;
  highlight_count: number;
};

/**
 * A room's `unread_notifications` for a user as of `upTo`: events since their
 * read receipt (or their own latest event, which counts as read) that the
 * spec's default push rules would notify for, and those that mention the
 * user. Push rules are not stored per user yet, so these are the defaults:
 * notices and edits do not notify, ignored users never do, encrypted events
 * notify but cannot highlight (the server cannot read them).
 */
export async function unreadCounts(db: Queryable, roomId: string, userId: string, upTo: number, ignored: ReadonlySet<string>): Promise<UnreadCounts> {
  const events = await unreadCandidates(db, roomId, await readReceiptPosition(db, roomId, userId), upTo, MAX_COUNTED_UNREAD);
  const mention = await mentionMatcher(db, userId);
  let notifications = 0;
  let highlights = 0;
  for (const event of events) {
    // One's own event (a message, or one's join) marks everything before it read.
    if (event.sender === userId) break;
    if (!notifies(event, ignored)) continue;
    notifications += 1;
    if (mention(event)) highlights += 1;
  }
  return { notification_count: notifications, highlight_count: highlights };
}

function notifies(event: UnreadCandidate, ignored: ReadonlySet<string>): boolean {
  if (event.is_state || !NOTIFYING_TYPES.has(event.type) || ignored.has(event.sender)) return false;
  if (event.msgtype === 'm.notice' || event.rel_type === 'm.replace') return false;
  return true;
}

/** .m.rule.is_user_mention / is_room_mention, and for events without `m.mentions` the legacy display-name and user-name rules. */
async function mentionMatcher(db: Queryable, userId: string): Promise<(event: UnreadCandidate) => boolean> {
  const user = await findUser(db, userId);
  const localpart = userId.slice(1, userId.indexOf(':'));
  const words = [user?.displayname, localpart].filter((word): word is string => !!word && word.trim().length > 0).map(wordPattern);
  return (event) => {
    if (event.mentions && typeof event.mentions === 'object') {
      return (Array.isArray(event.mentions.user_ids) && event.mentions.user_ids.includes(userId)) || event.mentions.room === true;
    }
    return event.body !== null && words.some((pattern) => pattern.test(event.body!));
  };
}

function wordPattern(word: string): RegExp {
  return new RegExp(`(^|\\W)${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|\\W)`, 'iu');
}
