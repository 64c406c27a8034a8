import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam, notFound } from '../errors.ts';
import { domainOf, isValidUserId } from '../rooms/identifiers.ts';
import { changeMembershipOf, joinRoom, requireInvitableUser } from '../rooms/membership.ts';
import { sendEvent } from '../rooms/persist-event.ts';
import { powerLevelOf } from '../rooms/power-levels.ts';
import { membersWith } from '../storage/queries/channels.ts';
import { roomMembersPage } from '../storage/queries/room-listing.ts';
import { findMembership } from '../storage/queries/room-state.ts';
import { CHANNEL_ADMIN_LEVEL, requireChannelRole, type ChannelActor } from './channel-access.ts';
import { audit } from './channel-admin.ts';

/** Most members one page lists. */
export const MAX_MEMBERS_PAGE = 1000;
export const MEMBERSHIPS = ['join', 'invite', 'knock', 'leave', 'ban'] as const;
export type Membership = (typeof MEMBERSHIPS)[number];

/**
 * A channel's members for its admins and moderators: each with membership,
 * display name and power level, in the order they got that membership.
 * Without a filter, those in or on the way in (join, invite, knock).
 */
export async function listChannelMembers(app: AppContext, actor: ChannelActor, roomId: string, page: { membership?: Membership; from: number; limit: number }) {
  const { levelOf } = await requireChannelRole(app, actor, roomId, 'moderator');
  const memberships = page.membership ? [page.membership] : ['join', 'invite', 'knock'];
  const { rows, total } = await roomMembersPage(app.db, roomId, memberships, page.from, Math.min(page.limit, MAX_MEMBERS_PAGE));
  return {
    members: rows.map((row) => ({ ...row, power_level: levelOf(row.user_id) })),
    total,
    ...(page.from + rows.length < total ? { next_batch: String(page.from + rows.length) } : {}),
  };
}

/**
 * Adds someone to a channel. By default an invite (the user decides, as in
 * any Matrix client). `force_join` is for server admins only and local users
 * only, as Synapse's admin join: the user is invited if need be and then
 * joined on their behalf, so an organisation can put people straight into
 * their team's channels. Either way the events go through the event path, so
 * the auth rules and bot admission apply.
 */
export async function addChannelMember(app: AppContext, actor: ChannelActor, roomId: string, userId: string, forceJoin: boolean): Promise<{ membership: 'invite' | 'join' }> {
  const { sender } = await requireChannelRole(app, actor, roomId, 'moderator');
  if (forceJoin && !actor.isAdmin) throw forbidden('Only a server admin may join someone to a channel without their consent (force_join)');
  await requireInvitableUser(app, userId);
  const before = (await findMembership(app.db, roomId, userId))?.membership ?? null;
  if (before === 'join') throw forbidden(`${userId} is already in the channel`);
  if (before === 'ban') throw forbidden(`${userId} is banned from the channel; unban them first`);
  if (before !== 'invite') await changeMembershipOf(app, sender, roomId, 'invite', userId);
  if (forceJoin) await joinRoom(app, userId, roomId);
  const membership = forceJoin ? 'join' : 'invite';
  await audit(app, actor, roomId, forceJoin ? 'member.force_join' : 'member.invite', { user_id: userId, membership: before }, { user_id: userId, membership });
  return { membership };
}

/** Removes a member (joined, invited or knocking) with a reason: a Matrix kick, so the room's kick level applies. */
export async function removeChannelMember(app: AppContext, actor: ChannelActor, roomId: string, userId: string, reason: string | undefined): Promise<void> {
  const { sender } = await requireChannelRole(app, actor, roomId, 'moderator');
  if (!isValidUserId(userId)) throw invalidParam(`${JSON.stringify(userId)} is not a valid user ID`);
  const before = (await findMembership(app.db, roomId, userId))?.membership;
  if (!before || !['join', 'invite', 'knock'].includes(before)) throw notFound(`${userId} is not in the channel`);
  if (userId === sender) throw forbidden('A channel admin cannot remove themselves through this API; leave the room instead');
  await changeMembershipOf(app, sender, roomId, 'kick', userId, reason);
  await audit(app, actor, roomId, 'member.remove', { user_id: userId, membership: before }, { user_id: userId, membership: 'leave', ...(reason ? { reason } : {}) });
}

/**
 * Makes a joined member a channel admin (power level 100) or revokes it (back
 * to the room's default level). The Matrix rules decide what the sender may
 * change: a channel admin may promote anyone and step down themselves, but
 * never demote another member at their own level, so revoking another channel
 * admin is refused unless the sender outranks them. The last channel admin
 * cannot be revoked: the channel would have nobody to manage it.
 */
export async function setChannelAdmin(app: AppContext, actor: ChannelActor, roomId: string, userId: string, grant: boolean): Promise<{ power_level: number }> {
  const { sender, powerLevels, levelOf } = await requireChannelRole(app, actor, roomId, 'admin');
  if (!isValidUserId(userId)) throw invalidParam(`${JSON.stringify(userId)} is not a valid user ID`);
  const joined = (await membersWith(app.db, roomId, ['join'])).map((member) => member.user_id);
  if (!joined.includes(userId)) throw notFound(`${userId} is not a joined member of the channel`);
  if (domainOf(userId) !== app.config.server_name) throw forbidden(`${userId} is on another server`);
  const before = levelOf(userId);
  if (!powerLevels) throw forbidden(`${roomId} has no power levels to change`);
  const users = { ...((powerLevels.content.users as Record<string, number> | undefined) ?? {}) };
  if (grant) {
    if (before >= CHANNEL_ADMIN_LEVEL) return { power_level: before };
    users[userId] = CHANNEL_ADMIN_LEVEL;
  } else {
    if (before < CHANNEL_ADMIN_LEVEL) return { power_level: before };
    const otherAdmins = joined.filter((member) => member !== userId && levelOf(member) >= CHANNEL_ADMIN_LEVEL);
    if (otherAdmins.length === 0) throw forbidden(`${userId} is the channel's last admin; make someone else a channel admin first`);
    delete users[userId];
  }
  const sent = await sendEvent(app, roomId, { sender, type: 'm.room.power_levels', stateKey: '', content: { ...powerLevels.content, users } });
  const after = powerLevelOf(userId, sent, undefined);
  await audit(app, actor, roomId, grant ? 'admin.grant' : 'admin.revoke', { user_id: userId, power_level: before }, { user_id: userId, power_level: after });
  return { power_level: after };
}
