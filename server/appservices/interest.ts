import type { EventRow } from '../storage/tables/rooms.ts';
import { matchesAlias, matchesRoom, ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/** What is known about the rooms of a batch of events: joined members and local aliases. */
export interface RoomFacts {
  members: Map<string, string[]>;
  aliases: Map<string, string[]>;
}

/**
 * Spec (Application Service API, "Pushing events"): an appservice receives
 * events sent by or about its users (sender, membership state_key), events in
 * rooms its rooms namespace matches or whose aliases its aliases namespace
 * matches, and events in rooms where one of its users is joined.
 */
export function isInterested(registration: Registration, event: EventRow, facts: RoomFacts): boolean {
  if (ownsUser(registration, event.sender)) return true;
  if (event.type === 'm.room.member' && event.state_key !== null && ownsUser(registration, event.state_key)) return true;
  return isInterestedInRoom(registration, event.room_id, facts);
}

/** The room half of the rule: its ID or a local alias in the namespaces, or one of the appservice's users joined. */
export function isInterestedInRoom(registration: Registration, roomId: string, facts: RoomFacts): boolean {
  if (matchesRoom(registration, roomId)) return true;
  if ((facts.aliases.get(roomId) ?? []).some((alias) => matchesAlias(registration, alias))) return true;
  return (facts.members.get(roomId) ?? []).some((member) => ownsUser(registration, member));
}
