import type { Queryable } from '../storage/database.ts';
import { findMembership, stateHistory } from '../storage/queries/room-state.ts';
import type { EventRow, MembershipRow } from '../storage/tables/rooms.ts';

/**
 * History visibility (spec: client-server-api "Room history visibility"):
 * which events of a room a user may see.
 *
 * - `world_readable`: anyone.
 * - `shared`: members see all history; a user who left sees it up to the leave.
 * - `invited`: from the point the user was invited.
 * - `joined`: only while the user was joined.
 *
 * The visibility and the user's membership are those in force at each event
 * (the visibility set before it, the membership including it, so one's own
 * join is visible), read from the state history of just those two keys. One's
 * own membership events are always visible.
 */

/** How far into a room a user can read: everything, or up to the position where they left. */
export interface ReadLimit {
  membership: string | undefined;
  /** Highest position the user may read (their leave or ban), or Infinity while invited or joined. */
  upTo: number;
  forgotten: boolean;
}

export async function readLimitOf(db: Queryable, userId: string, roomId: string, known?: MembershipRow | null): Promise<ReadLimit> {
  const row = known === undefined ? await findMembership(db, roomId, userId) : (known ?? undefined);
  if (!row) return { membership: undefined, upTo: -1, forgotten: false };
  const stillThere = row.membership === 'join' || row.membership === 'invite' || row.membership === 'knock';
  return { membership: row.membership, upTo: stillThere ? Number.POSITIVE_INFINITY : row.stream_ordering, forgotten: row.forgotten };
}

/**
 * Works on anything with a position (full rows, or the light summaries bundling reads).
 * `membership`: the user's current membership row in the room when the caller already read it (null: none).
 */
export async function filterVisibleEvents<T extends Pick<EventRow, 'stream_ordering'>>(
  db: Queryable,
  userId: string,
  roomId: string,
  rows: readonly T[],
  membership?: MembershipRow | null,
): Promise<T[]> {
  if (rows.length === 0) return [];
  const limit = await readLimitOf(db, userId, roomId, membership);
  const highest = Math.max(...rows.map((row) => row.stream_ordering));
  // A former member's join may lie after the events read (shared history before it), but never after the leave.
  const historyUpTo = Number.isFinite(limit.upTo) ? Math.max(highest, limit.upTo) : highest;
  const history = await stateHistory(db, roomId, [{ type: 'm.room.history_visibility', state_key: '' }, { type: 'm.room.member', state_key: userId }], historyUpTo);
  const visibilityChanges = history.filter((row) => row.type === 'm.room.history_visibility');
  const membershipChanges = history.filter((row) => row.type === 'm.room.member');
  const everJoinedBy = membershipChanges.find((row) => membershipOf(row.content) === 'join')?.stream_ordering;
  const isMember = limit.membership === 'join' || (everJoinedBy !== undefined && !limit.forgotten);

  return rows.filter((row) => {
    const visibility = lastBefore(visibilityChanges, row.stream_ordering, false);
    const historyVisibility = visibility ? String((visibility.content as Record<string, unknown>)?.history_visibility ?? 'shared') : 'shared';
    if (historyVisibility === 'world_readable') return true;
    if (row.stream_ordering > limit.upTo || limit.forgotten) return false;
    // One's own membership changes are always one's to see (a leave from a `joined` room
    // included, as Synapse does), so a client sees the room it left go.
    if (membershipChanges.some((change) => change.stream_ordering === row.stream_ordering)) return true;
    const membership = membershipOf(lastBefore(membershipChanges, row.stream_ordering, true)?.content);
    if (membership === 'join') return true;
    if (historyVisibility === 'invited' && membership === 'invite') return true;
    return historyVisibility === 'shared' && isMember;
  });
}

/** The `membership` of a member event's content. */
export function membershipOf(content: unknown): string | undefined {
  const membership = (content as Record<string, unknown> | null)?.membership;
  return typeof membership === 'string' ? membership : undefined;
}

function lastBefore<T extends { stream_ordering: number }>(rows: readonly T[], position: number, inclusive: boolean): T | undefined {
  let found: T | undefined;
  for (const row of rows) {
    if (inclusive ? row.stream_ordering <= position : row.stream_ordering < position) found = row;
    else break;
  }
  return found;
}
