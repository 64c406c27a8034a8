import type { AppContext } from '../app-context.ts';
import { currentStateEvents, findMembership, joinedMembers } from '../storage/queries/room-state.ts';
import { domainOf } from './identifiers.ts';
import { namedPowerLevel, powerLevelOf } from './power-levels.ts';

/**
 * A restricted join (spec: "Restricted rooms"): a user who is not invited may
 * join if they are in one of the rooms the join rule allows, and a resident
 * user able to invite vouches for them in `join_authorised_via_users_server`.
 * This picks that resident user (the most powerful local member who may
 * invite), or nothing when the rule or the user's memberships do not qualify,
 * in which case the auth rules refuse the join with their own reason.
 */
export async function restrictedJoinAuthoriser(app: AppContext, roomId: string, userId: string): Promise<string | undefined> {
  const state = await currentStateEvents(app.db, roomId, [
    { type: 'm.room.join_rules', state_key: '' },
    { type: 'm.room.power_levels', state_key: '' },
    { type: 'm.room.create', state_key: '' },
  ]);
  const joinRules = state.find((row) => row.type === 'm.room.join_rules')?.json.content;
  if (joinRules?.join_rule !== 'restricted' && joinRules?.join_rule !== 'knock_restricted') return undefined;
  const allowedRooms = (Array.isArray(joinRules.allow) ? joinRules.allow : [])
    .filter((entry: any) => entry?.type === 'm.room_membership' && typeof entry.room_id === 'string')
    .map((entry: any) => entry.room_id as string);
  let qualifies = false;
  for (const allowed of allowedRooms) {
    if ((await findMembership(app.db, allowed, userId))?.membership === 'join') {
      qualifies = true;
      break;
    }
  }
  if (!qualifies) return undefined;
  const powerLevels = state.find((row) => row.type === 'm.room.power_levels')?.json;
  const create = state.find((row) => row.type === 'm.room.create')?.json;
  const inviteLevel = namedPowerLevel('invite', powerLevels);
  const candidates = (await joinedMembers(app.db, roomId))
    .filter((member) => domainOf(member) === app.config.server_name)
    .map((member) => ({ member, level: powerLevelOf(member, powerLevels, create) }))
    .filter((candidate) => candidate.level >= inviteLevel)
    .sort((a, b) => b.level - a.level || a.member.localeCompare(b.member));
  return candidates[0]?.member;
}

/**
 * A member already joined who re-sends their join (a per-room name change)
 * needs no authoriser; a `join_authorised_via_users_server` they copy along
 * is dropped, as Synapse does, rather than failing the signature rule.
 */
export async function withoutNeedlessAuthoriser(app: AppContext, roomId: string, userId: string, content: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (content.membership !== 'join' || !('join_authorised_via_users_server' in content)) return content;
  if ((await findMembership(app.db, roomId, userId))?.membership !== 'join') return content;
  const { join_authorised_via_users_server: _dropped, ...rest } = content;
  return rest;
}
