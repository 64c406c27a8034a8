import type { Queryable } from '../../storage/database.ts';
import { stateEventsAt } from '../../storage/queries/room-state.ts';
import type { EventRow } from '../../storage/tables/rooms.ts';

/** Spec: up to 5 heroes, the first joined or invited members other than the user. */
const MAX_HEROES = 5;

/** The room summary of a joined room: member counts, and heroes for naming a room with no name. */
export async function roomSummary(db: Queryable, roomId: string, userId: string, upTo: number): Promise<Record<string, unknown>> {
  return summaryOf(await stateEventsAt(db, roomId, upTo, { types: ['m.room.member'] }), userId);
}

/** The summary from the room's member events at a position (any order; other state events are ignored). */
export function summaryOf(state: readonly EventRow[], userId: string): Record<string, unknown> {
  const members = state.filter((row) => row.type === 'm.room.member').sort((a, b) => a.stream_ordering - b.stream_ordering);
  const joined = members.filter((row) => row.json.content.membership === 'join');
  const invited = members.filter((row) => row.json.content.membership === 'invite');
  const heroes = [...joined, ...invited].map((row) => row.state_key!).filter((id) => id !== userId).slice(0, MAX_HEROES);
  return { 'm.heroes': heroes, 'm.joined_member_count': joined.length, 'm.invited_member_count': invited.length };
}
