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
  if (matchesRoom(registration, event.room_id)) return true;
  if ((facts.aliases.get(event.room_id) ?? []).some((alias) => matchesAlias(registration, alias))) return true;
  return (facts.members.get(event.room_id) ?? []).some((member) => ownsUser(registration, member));
}
