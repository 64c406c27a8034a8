import { allow, deny, type AuthResult } from './auth-result.ts';
import { levelIn, membershipIn, type AuthContext, type AuthOptions } from './auth-context.ts';
import { stateKey, type PersistentEvent, type StateMap } from './event.ts';
import { domainOf } from './identifiers.ts';
import { checkMembership } from './membership-auth.ts';
import { namedPowerLevel, powerLevelsChangeProblem, powerLevelsContentProblem, requiredPowerLevel } from './power-levels.ts';
import { isSupportedRoomVersion, type RoomVersionRules, roomVersionRules } from './room-versions.ts';

/**
 * The authorisation rules of room versions 10 and 11 (spec: rooms/v10.md and
 * rooms/v11.md, "Authorisation rules"), as a pure function of the event and
 * the state it is checked against: its auth events, the state before it, or
 * the current state. Signature and hash checks, and rule 2.3 (no cited auth
 * event was rejected), happen before this and need storage or keys.
 *
 * Redactions are authorised like any message (by `events`/`events_default`);
 * whether a redaction takes effect is `checkRedactionTarget`'s question.
 */

export type { AuthResult } from './auth-result.ts';
export type { AuthOptions } from './auth-context.ts';
export { selectAuthEvents, checkAuthEventsList, authStateOf, authStateKeysFor } from './auth-events.ts';
export { powerLevelOf, requiredPowerLevel, namedPowerLevel, creatorOf } from './power-levels.ts';

export function checkEventAuth(event: PersistentEvent, authState: StateMap, roomVersion: string, options: AuthOptions = {}): AuthResult {
  if (!isSupportedRoomVersion(roomVersion)) return deny(`room version ${roomVersion} is not supported`);
  const rules = roomVersionRules(roomVersion);
  if (event.type === 'm.room.create') return checkCreate(event, rules);

  // 2.4, 2.5: whatever state we are given must be this room's, and include its creation.
  const create = authState.get(stateKey('m.room.create', ''));
  if (!create) return deny('there is no m.room.create event among the auth events');
  for (const authEvent of authState.values()) {
    if (authEvent.room_id !== event.room_id) return deny(`auth event ${authEvent.event_id} belongs to another room`);
  }
  // 3: a room created with m.federate false stays on its creator's server.
  if (create.content['m.federate'] === false && domainOf(event.sender) !== domainOf(create.sender)) {
    return deny(`the room does not federate, and ${event.sender} is not on ${domainOf(create.sender)}`);
  }

  const context: AuthContext = {
    event,
    state: authState,
    rules,
    create,
    powerLevels: authState.get(stateKey('m.room.power_levels', '')),
    options,
  };
  if (event.type === 'm.room.member') return checkMembership(context);
  return checkNonMemberEvent(context);
}

/** Rule 1. */
function checkCreate(event: PersistentEvent, rules: RoomVersionRules): AuthResult {
  if (event.prev_events.length > 0) return deny('an m.room.create event cannot have prev_events');
  if (domainOf(event.room_id) !== domainOf(event.sender)) {
    return deny(`room ${event.room_id} cannot be created by ${event.sender} of another server`);
  }
  const version = event.content.room_version;
  if (version !== undefined && !isSupportedRoomVersion(version)) {
    return deny(`m.room.create names room version ${JSON.stringify(version)}, which is not recognised`);
  }
  if (rules.createHasCreator && !Object.hasOwn(event.content, 'creator')) {
    return deny(`m.room.create in room version ${rules.id} must name its creator in content.creator`);
  }
  return allow();
}

/** Rules 5 to 10. */
function checkNonMemberEvent(context: AuthContext): AuthResult {
  const { event, state, powerLevels } = context;
  const membership = membershipIn(state, event.sender);
  if (membership !== 'join') return deny(`${event.sender} is not in the room (membership: ${membership})`);
  const senderLevel = levelIn(context, event.sender);

  if (event.type === 'm.room.third_party_invite') {
    const inviteLevel = namedPowerLevel('invite', powerLevels);
    if (senderLevel >= inviteLevel) return allow();
    return deny(`sender's power level ${senderLevel} is below the ${inviteLevel} needed to invite`);
  }

  const required = requiredPowerLevel(event.type, event.state_key, powerLevels);
  if (required > senderLevel) {
    return deny(`sender's power level ${senderLevel} is below the ${required} needed to send ${event.type}`);
  }
  if (event.state_key?.startsWith('@') && event.state_key !== event.sender) {
    return deny(`only ${event.state_key} may set state with their user ID as the state_key`);
  }
  if (event.type === 'm.room.power_levels') return checkPowerLevels(context, senderLevel);
  return allow();
}

/** Rule 9. */
function checkPowerLevels(context: AuthContext, senderLevel: number): AuthResult {
  const { event, powerLevels, rules } = context;
  const malformed = powerLevelsContentProblem(event.content, rules);
  if (malformed) return deny(malformed);
  if (!powerLevels) return allow();
  const problem = powerLevelsChangeProblem(event.sender, senderLevel, powerLevels.content, event.content);
  return problem ? deny(problem) : allow();
}
