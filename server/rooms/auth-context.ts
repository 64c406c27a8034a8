import { stateKey, type PersistentEvent, type StateMap } from './event.ts';
import { powerLevelOf } from './power-levels.ts';
import type { RoomVersionRules } from './room-versions.ts';

export interface AuthOptions {
  /**
   * Whether `serverName` validly signed `event`, with keys the caller trusts.
   * Needed for `join_authorised_via_users_server` (rule 4.2). Without it the
   * rule only requires a signature entry from that server to be present, and
   * the cryptographic check is left to the signature checks on receipt.
   */
  isSignedBy?: (event: PersistentEvent, serverName: string) => boolean;
}

/** What every rule after the create rule needs, resolved once. */
export interface AuthContext {
  readonly event: PersistentEvent;
  readonly state: StateMap;
  readonly rules: RoomVersionRules;
  readonly create: PersistentEvent;
  readonly powerLevels: PersistentEvent | undefined;
  readonly options: AuthOptions;
}

/** A user's membership in the auth state; 'leave' when they have no member event, as the spec treats it. */
export function membershipIn(state: StateMap, userId: string): string {
  const membership = state.get(stateKey('m.room.member', userId))?.content.membership;
  return typeof membership === 'string' ? membership : 'leave';
}

export function levelIn(context: AuthContext, userId: string): number {
  return powerLevelOf(userId, context.powerLevels, context.create, context.rules.id);
}

export function joinRuleIn(state: StateMap): string | undefined {
  const rule = state.get(stateKey('m.room.join_rules', ''))?.content.join_rule;
  return typeof rule === 'string' ? rule : undefined;
}
