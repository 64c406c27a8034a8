import type { AppContext } from '../app-context.ts';
import { forbidden, type MatrixError } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { currentStateEvents, findMembership, joinedMembers } from '../storage/queries/room-state.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import { stateKey, type StateMap } from './event.ts';
import { domainOf } from './identifiers.ts';
import { namedPowerLevel, powerLevelOf } from './power-levels.ts';

/** Join rules under which a join may rest on membership of another room (a space) instead of an invite. */
const RESTRICTED_RULES = new Set(['restricted', 'knock_restricted']);

/** The rooms an `m.room.join_rules` allow list names through `m.room_membership`. */
export function allowedRoomIds(joinRules: Record<string, unknown> | undefined): string[] {
  const allow = joinRules?.allow;
  if (!Array.isArray(allow)) return [];
  return allow.filter((entry) => entry?.type === 'm.room_membership' && typeof entry.room_id === 'string').map((entry) => entry.room_id as string);
}

async function joinedToAnyOf(db: Queryable, userId: string, roomIds: readonly string[]): Promise<boolean> {
  for (const roomId of roomIds) if ((await findMembership(db, roomId, userId))?.membership === 'join') return true;
  return false;
}

/**
 * The resident-server half of a restricted join (spec: "Restricted rooms"):
 * the auth rules only check that the user named in
 * `join_authorised_via_users_server` may invite; whether the joiner is in a
 * room of the allow list is this server's to check, because it signs the
 * event. Checked on the event path, so a client cannot name an authoriser in
 * a hand-made member event (`PUT /state/m.room.member/…`) to skip the allow list.
 */
export async function restrictedJoinRefusal(db: Queryable, draft: { type: string; stateKey?: string; sender: string; content: Record<string, unknown> }, authState: StateMap): Promise<MatrixError | undefined> {
  if (draft.type !== 'm.room.member' || draft.content.membership !== 'join' || draft.content.join_authorised_via_users_server === undefined) return undefined;
  const joinRules = authState.get(stateKey('m.room.join_rules', ''))?.content;
  if (!RESTRICTED_RULES.has(String(joinRules?.join_rule))) return undefined;
  const current = authState.get(stateKey('m.room.member', draft.stateKey ?? ''))?.content.membership;
  if (current === 'invite' || current === 'join') return undefined;
  if (await joinedToAnyOf(db, draft.sender, allowedRoomIds(joinRules))) return undefined;
  return forbidden(`${draft.sender} is not in any of the rooms whose members may join this room`);
}

/**
 * For a local user joining a restricted room without an invite: a joined
 * local member who may invite, to name as `join_authorised_via_users_server`,
 * when the user is in a room of the allow list. Undefined when the join does
 * not need one (not restricted, or already invited); refuses when it cannot be
 * authorised, with the reason.
 */
export async function restrictedJoinAuthoriser(app: AppContext, roomId: string, userId: string): Promise<string | undefined> {
  const state = await currentStateEvents(app.db, roomId, [
    { type: 'm.room.join_rules', state_key: '' },
    { type: 'm.room.power_levels', state_key: '' },
    { type: 'm.room.create', state_key: '' },
  ]);
  const event = (type: string) => state.find((row) => row.type === type)?.json;
  const joinRules = event('m.room.join_rules')?.content;
  if (!RESTRICTED_RULES.has(String(joinRules?.join_rule))) return undefined;
  const membership = (await findMembership(app.db, roomId, userId))?.membership;
  if (membership === 'invite' || membership === 'join') return undefined;
  if (!(await joinedToAnyOf(app.db, userId, allowedRoomIds(joinRules)))) {
    throw forbidden(`You are not invited to ${roomId}, nor in any of the rooms whose members may join it`);
  }
  const room = await findRoom(app.db, roomId);
  const inviteLevel = namedPowerLevel('invite', event('m.room.power_levels'));
  const authoriser = (await joinedMembers(app.db, roomId))
    .filter((member) => domainOf(member) === app.config.server_name)
    .find((member) => powerLevelOf(member, event('m.room.power_levels'), event('m.room.create'), room?.room_version) >= inviteLevel);
  if (!authoriser) throw forbidden(`Nobody in ${roomId} may invite, so the join cannot be authorised`);
  return authoriser;
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
