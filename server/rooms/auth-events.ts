import { stateKey, stateMapOf, type PersistentEvent, type StateKey, type StateMap } from './event.ts';
import type { AuthResult } from './auth-result.ts';
import { allow, deny } from './auth-result.ts';

/**
 * Spec: server-server-api, "Auth events selection", and auth rule 2 (checking
 * an event's `auth_events` list). Room versions 10 and 11 both select the
 * create event and support restricted joins, so no version switch is needed.
 */

/** The (type, state_key) pairs an event's auth events may cover, most important first. */
export function authStateKeysFor(type: string, stateKeyValue: string | undefined, sender: string, content: Record<string, unknown>): StateKey[] {
  if (type === 'm.room.create') return [];
  const keys = [stateKey('m.room.create', ''), stateKey('m.room.power_levels', ''), stateKey('m.room.member', sender)];
  if (type === 'm.room.member' && stateKeyValue !== undefined) {
    keys.push(stateKey('m.room.member', stateKeyValue));
    const membership = content.membership;
    if (membership === 'join' || membership === 'invite' || membership === 'knock') {
      keys.push(stateKey('m.room.join_rules', ''));
    }
    const token = thirdPartyInviteToken(content);
    if (membership === 'invite' && token !== undefined) keys.push(stateKey('m.room.third_party_invite', token));
    const authoriser = content.join_authorised_via_users_server;
    if (membership === 'join' && typeof authoriser === 'string') keys.push(stateKey('m.room.member', authoriser));
  }
  return [...new Set(keys)];
}

/** Event IDs of the current state events a new event must cite as its `auth_events`. */
export function selectAuthEvents(
  type: string,
  stateKeyValue: string | undefined,
  sender: string,
  content: Record<string, unknown>,
  currentState: StateMap,
): string[] {
  const ids: string[] = [];
  for (const key of authStateKeysFor(type, stateKeyValue, sender, content)) {
    const event = currentState.get(key);
    if (event && !ids.includes(event.event_id)) ids.push(event.event_id);
  }
  return ids;
}

/** The auth events of an event as a state map, ready for `checkEventAuth`. */
export function authStateOf(authEvents: Iterable<PersistentEvent>): StateMap {
  return stateMapOf(authEvents);
}

/**
 * Auth rules 2.1, 2.2, 2.4 and 2.5 on the events an event cites. Rule 2.3
 * (no cited event was itself rejected) needs storage and is the caller's.
 */
export function checkAuthEventsList(event: PersistentEvent, authEvents: readonly PersistentEvent[]): AuthResult {
  const expected = new Set(authStateKeysFor(event.type, event.state_key, event.sender, event.content));
  const seen = new Set<StateKey>();
  for (const authEvent of authEvents) {
    if (authEvent.state_key === undefined) return deny(`auth event ${authEvent.event_id} is not a state event`);
    const key = stateKey(authEvent.type, authEvent.state_key);
    const label = `${authEvent.type} (state_key ${JSON.stringify(authEvent.state_key)})`;
    if (seen.has(key)) return deny(`auth_events cite more than one ${label}`);
    seen.add(key);
    if (!expected.has(key)) return deny(`auth_events cite ${label}, which does not authorise a ${event.type} event`);
    if (authEvent.room_id !== event.room_id) return deny(`auth event ${authEvent.event_id} belongs to another room`);
  }
  if (!seen.has(stateKey('m.room.create', ''))) return deny('auth_events do not include the m.room.create event');
  return allow();
}

function thirdPartyInviteToken(content: Record<string, unknown>): string | undefined {
  const invite = content.third_party_invite as { signed?: { token?: unknown } } | undefined;
  const token = typeof invite === 'object' && invite !== null ? invite.signed?.token : undefined;
  return typeof token === 'string' ? token : undefined;
}
