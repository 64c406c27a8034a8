import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden, invalidParam, notFound } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { findMembership, setForgotten } from '../storage/queries/room-state.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import { findUser } from '../storage/queries/users.ts';
import { askAppservicesForUser } from '../appservices/queries.ts';
import { domainOf, isValidUserId } from './identifiers.ts';
import { sendEvent } from './persist-event.ts';
import { restrictedJoinAuthoriser } from './restricted-join.ts';
import { copyUserStateFromPredecessor } from './upgrade-follow-up.ts';

/**
 * Membership changes a local user asks for. Each is one m.room.member event;
 * whether it is allowed is the auth rules' decision (join rules, bans, power
 * levels), so a refusal carries their reason.
 */

export type MembershipAction = 'invite' | 'kick' | 'ban' | 'unban';

/** Join a room by ID. Joining a room one is already in changes nothing. */
export async function joinRoom(app: AppContext, userId: string, roomId: string, reason?: string, customContent: Record<string, unknown> = {}): Promise<void> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const current = await findMembership(app.db, roomId, userId);
  if (current?.membership === 'join') return;
  // A restricted room (e.g. a channel open to a space's members) needs a resident who vouches for the join.
  const authoriser = await restrictedJoinAuthoriser(app, roomId, userId);
  const content = {
    ...(await profileContent(app.db, userId)),
    ...customMemberContent(customContent),
    membership: 'join',
    ...reasonOf(reason),
    ...(authoriser === undefined ? {} : { join_authorised_via_users_server: authoriser }),
  };
  await sendEvent(app, roomId, { sender: userId, type: 'm.room.member', stateKey: userId, content });
  // Joining an upgraded room: one's tags, DM entry and push rules of the old room follow.
  await copyUserStateFromPredecessor(app, userId, roomId);
}

/**
 * Extra fields of a join request body go into the member event, as Synapse
 * does (a per-room display name at join, custom keys); the fields the server
 * sets or the spec defines for the request itself are not taken from it.
 */
export function customMemberContent(body: Record<string, unknown>): Record<string, unknown> {
  const { reason: _reason, membership: _membership, third_party_signed: _signed, join_authorised_via_users_server: _via, ...rest } = body;
  return rest;
}

/**
 * Knock: ask to be let into a room whose join rule is `knock`. A moderator
 * approves by inviting (or the user joins once invited) and denies by kicking.
 */
export async function knockRoom(app: AppContext, userId: string, roomId: string, reason?: string): Promise<void> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const current = await findMembership(app.db, roomId, userId);
  if (current?.membership === 'join') throw forbidden(`You are already in room ${roomId}`);
  if (current?.membership === 'knock') return;
  await sendEvent(app, roomId, { sender: userId, type: 'm.room.member', stateKey: userId, content: { membership: 'knock', ...(await profileContent(app.db, userId)), ...reasonOf(reason) } });
}

/**
 * Leave a room, or reject an invite. The spec documents only success here, so
 * leaving a room one is not in (never joined, already left, banned) succeeds
 * and changes nothing.
 */
export async function leaveRoom(app: AppContext, userId: string, roomId: string, reason?: string): Promise<void> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const current = await findMembership(app.db, roomId, userId);
  if (!current || current.membership === 'leave' || current.membership === 'ban') return;
  await sendEvent(app, roomId, { sender: userId, type: 'm.room.member', stateKey: userId, content: { membership: 'leave', ...reasonOf(reason) } });
  // Someone who left is no longer typing there.
  await app.typing.set(roomId, userId, false, 0);
}

/** Invite, kick, ban or unban another user. */
export async function changeMembershipOf(app: AppContext, sender: string, roomId: string, action: MembershipAction, target: string, reason?: string): Promise<void> {
  if (!isValidUserId(target)) throw invalidParam(`${JSON.stringify(target)} is not a valid user ID`);
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const current = await findMembership(app.db, roomId, target);
  let content: Record<string, unknown>;
  switch (action) {
    case 'invite':
      await requireInvitableUser(app, target);
      if (current?.membership === 'join') throw forbidden(`${target} is already in the room`);
      content = { membership: 'invite', ...(await profileContent(app.db, target)) };
      break;
    case 'kick':
      if (!current || !['join', 'invite', 'knock'].includes(current.membership)) throw forbidden(`${target} is not in the room`);
      content = { membership: 'leave' };
      break;
    case 'ban':
      content = { membership: 'ban' };
      break;
    case 'unban':
      if (current?.membership !== 'ban') throw forbidden(`${target} is not banned`);
      content = { membership: 'leave' };
      break;
  }
  await sendEvent(app, roomId, { sender, type: 'm.room.member', stateKey: target, content: { ...content, ...reasonOf(reason) } });
  if (action === 'kick' || action === 'ban') await app.typing.set(roomId, target, false, 0);
}

/** Forget a room one has left: it no longer appears in sync, and its history is closed to the user. */
export async function forgetRoom(app: AppContext, userId: string, roomId: string): Promise<void> {
  const current = await findMembership(app.db, roomId, userId);
  if (!current) throw notFound(`You have never been in room ${roomId}`);
  if (current.membership === 'join' || current.membership === 'invite' || current.membership === 'knock') {
    throw new MatrixError(ErrCode.UNKNOWN, `You must leave room ${roomId} before forgetting it`, { status: 400 });
  }
  await setForgotten(app.db, roomId, userId);
}

/** Only existing local users can be invited: this server does not federate yet. */
export async function requireInvitableUser(app: AppContext, userId: string): Promise<void> {
  if (!isValidUserId(userId)) throw invalidParam(`${JSON.stringify(userId)} is not a valid user ID`);
  if (domainOf(userId) !== app.config.server_name) throw forbidden(`Cannot invite ${userId}: this server does not federate with other servers`);
  // An appservice may create a ghost user on demand when asked about one in its namespace.
  const user = (await findUser(app.db, userId)) ?? ((await askAppservicesForUser(app, userId)) ? await findUser(app.db, userId) : undefined);
  if (!user || user.deactivated) throw notFound(`There is no user ${userId} on this server`);
}

/** The display name and avatar a member event carries. */
export async function profileContent(db: Queryable, userId: string): Promise<Record<string, string>> {
  const user = await findUser(db, userId);
  const profile: Record<string, string> = {};
  if (user?.displayname) profile.displayname = user.displayname;
  if (user?.avatar_url) profile.avatar_url = user.avatar_url;
  return profile;
}

function reasonOf(reason: string | undefined): Record<string, string> {
  return reason === undefined ? {} : { reason };
}
