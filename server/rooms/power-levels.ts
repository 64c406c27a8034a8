import type { PersistentEvent } from './event.ts';
import { isValidUserId } from './identifiers.ts';
import { isSupportedRoomVersion, roomVersionRules, type RoomVersionRules } from './room-versions.ts';

/**
 * Reading m.room.power_levels (spec: client-server-api m.room.power_levels and
 * server-server-api "Definitions"), and the power-level parts of the auth rules.
 * Functions take the events themselves so callers can pass whatever state they
 * authorise against (auth events, state before, current state).
 */

/** Spec: with no power levels event, the creator has 100 and everyone else 0 (v1-v11). */
export const CREATOR_LEVEL_WITHOUT_POWER_LEVELS = 100;

export type NamedLevel = 'invite' | 'kick' | 'ban' | 'redact';

/** Spec: invite defaults to 0; kick, ban and redact to 50, with or without a power levels event. */
export const NAMED_LEVEL_DEFAULTS: Readonly<Record<NamedLevel, number>> = { invite: 0, kick: 50, ban: 50, redact: 50 };

const STATE_DEFAULT = 50;
const EVENTS_DEFAULT = 0;
const USERS_DEFAULT = 0;
/** Spec: the `room` notification (@room) level defaults to 50. */
const ROOM_NOTIFICATION_DEFAULT = 50;

type Content = Record<string, unknown>;

function integerOr(value: unknown, fallback: number): number {
  return Number.isSafeInteger(value) ? (value as number) : fallback;
}

function objectField(content: Content | undefined, key: string): Content | undefined {
  const value = content?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Content) : undefined;
}

/** The room creator: `content.creator` before v11, the create event's sender from v11. */
export function creatorOf(createEvent: PersistentEvent, roomVersion?: string): string {
  const version = roomVersion ?? createEvent.content.room_version;
  if (isSupportedRoomVersion(version) && !roomVersionRules(version).createHasCreator) return createEvent.sender;
  const creator = createEvent.content.creator;
  return typeof creator === 'string' ? creator : createEvent.sender;
}

/** A user's power level, from the power levels event or, without one, from who created the room. */
export function powerLevelOf(
  userId: string,
  powerLevelsEvent: PersistentEvent | undefined,
  createEvent: PersistentEvent | undefined,
  roomVersion?: string,
): number {
  if (powerLevelsEvent) {
    const content = powerLevelsEvent.content;
    const explicit = objectField(content, 'users')?.[userId];
    return integerOr(explicit, integerOr(content.users_default, USERS_DEFAULT));
  }
  if (createEvent && creatorOf(createEvent, roomVersion) === userId) return CREATOR_LEVEL_WITHOUT_POWER_LEVELS;
  return USERS_DEFAULT;
}

/** The level needed to send an event of `type`: `events[type]`, else `state_default` or `events_default`. */
export function requiredPowerLevel(
  type: string,
  stateKey: string | undefined,
  powerLevelsEvent: PersistentEvent | undefined,
): number {
  const content = powerLevelsEvent?.content;
  const explicit = objectField(content, 'events')?.[type];
  if (Number.isSafeInteger(explicit)) return explicit as number;
  return stateKey !== undefined
    ? integerOr(content?.state_default, STATE_DEFAULT)
    : integerOr(content?.events_default, EVENTS_DEFAULT);
}

/** The invite, kick, ban or redact level. */
export function namedPowerLevel(name: NamedLevel, powerLevelsEvent: PersistentEvent | undefined): number {
  return integerOr(powerLevelsEvent?.content[name], NAMED_LEVEL_DEFAULTS[name]);
}

/** The level needed to trigger a notification such as `room` (@room mentions). */
export function notificationPowerLevel(key: string, powerLevelsEvent: PersistentEvent | undefined): number {
  // Only `room` has a default in the spec; an unlisted key is one nobody may trigger.
  const fallback = key === 'room' ? ROOM_NOTIFICATION_DEFAULT : Number.MAX_SAFE_INTEGER;
  return integerOr(objectField(powerLevelsEvent?.content, 'notifications')?.[key], fallback);
}

/** Top-level properties whose changes rule 9.5 checks. */
const LEVEL_PROPERTIES = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'];

/** Auth rules 9.1-9.3: the shape of a new power levels event. Returns a reason, or undefined if well formed. */
export function powerLevelsContentProblem(content: Content, rules: RoomVersionRules): string | undefined {
  if (rules.integerPowerLevels) {
    for (const key of LEVEL_PROPERTIES) {
      if (Object.hasOwn(content, key) && !Number.isSafeInteger(content[key])) {
        return `power level "${key}" must be an integer in room version ${rules.id}, got ${JSON.stringify(content[key])}`;
      }
    }
    for (const key of ['events', 'notifications']) {
      if (!Object.hasOwn(content, key)) continue;
      const map = objectField(content, key);
      if (!map) return `"${key}" in power levels must be an object`;
      const bad = Object.entries(map).find(([, value]) => !Number.isSafeInteger(value));
      if (bad) return `power level for ${key} "${bad[0]}" must be an integer, got ${JSON.stringify(bad[1])}`;
    }
  }
  if (Object.hasOwn(content, 'users')) {
    const users = objectField(content, 'users');
    if (!users) return '"users" in power levels must be an object';
    for (const [userId, level] of Object.entries(users)) {
      if (!isValidUserId(userId)) return `"${userId}" in power levels "users" is not a valid user ID`;
      if (!Number.isSafeInteger(level)) return `power level of ${userId} must be an integer, got ${JSON.stringify(level)}`;
    }
  }
  return undefined;
}

/**
 * Auth rules 9.5-9.9: what a sender at `senderLevel` may change relative to the
 * current power levels. Returns a reason, or undefined if every change is allowed.
 */
export function powerLevelsChangeProblem(sender: string, senderLevel: number, current: Content, proposed: Content): string | undefined {
  for (const key of LEVEL_PROPERTIES) {
    const problem = levelChangeProblem(`"${key}"`, current[key], proposed[key], senderLevel, false);
    if (problem) return problem;
  }
  for (const key of ['events', 'notifications']) {
    const before = objectField(current, key) ?? {};
    const after = objectField(proposed, key) ?? {};
    for (const name of unionOfKeys(before, after)) {
      const problem = levelChangeProblem(`${key} "${name}"`, before[name], after[name], senderLevel, false);
      if (problem) return problem;
    }
  }
  const beforeUsers = objectField(current, 'users') ?? {};
  const afterUsers = objectField(proposed, 'users') ?? {};
  for (const userId of unionOfKeys(beforeUsers, afterUsers)) {
    // 9.8 exempts the sender's own entry (so one may demote oneself); 9.9 still caps it.
    const problem = levelChangeProblem(`the power level of ${userId}`, beforeUsers[userId], afterUsers[userId], senderLevel, userId !== sender);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * One entry: if it changed, its old value must not exceed the sender's level
 * (for other users' entries it must be strictly below), nor may its new value.
 */
function levelChangeProblem(what: string, before: unknown, after: unknown, senderLevel: number, strictlyBelow: boolean): string | undefined {
  if (before === after) return undefined;
  if (before !== undefined) {
    const old = integerOr(before, Number.MAX_SAFE_INTEGER);
    if (strictlyBelow ? old >= senderLevel : old > senderLevel) {
      const relation = strictlyBelow ? 'not below' : 'above';
      return `sender's power level ${senderLevel} cannot change ${what}: its current value ${String(before)} is ${relation} the sender's`;
    }
  }
  if (after !== undefined && integerOr(after, Number.MAX_SAFE_INTEGER) > senderLevel) {
    return `sender's power level ${senderLevel} cannot set ${what} to ${String(after)}, above their own`;
  }
  return undefined;
}

function unionOfKeys(a: Content, b: Content): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}
