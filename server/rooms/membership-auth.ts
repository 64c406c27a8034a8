import { allow, deny, type AuthResult } from './auth-result.ts';
import { joinRuleIn, levelIn, membershipIn, type AuthContext } from './auth-context.ts';
import { domainOf } from './identifiers.ts';
import { creatorOf, namedPowerLevel } from './power-levels.ts';
import { checkThirdPartyInvite } from './third-party-invite-auth.ts';

/** Auth rule 4: m.room.member events, for room versions 10 and 11. */
export function checkMembership(context: AuthContext): AuthResult {
  const { event } = context;
  const membership = event.content.membership;
  if (event.state_key === undefined) return deny('a membership event needs a state_key naming its target user');
  if (membership === undefined) return deny('a membership event needs content.membership');

  const authoriser = event.content.join_authorised_via_users_server;
  if (authoriser !== undefined) {
    if (typeof authoriser !== 'string') return deny('join_authorised_via_users_server must be a user ID');
    const server = domainOf(authoriser);
    const signed = context.options.isSignedBy ? context.options.isSignedBy(event, server) : event.signatures[server] !== undefined;
    if (!signed) return deny(`the join is said to be authorised by ${authoriser}, but is not signed by ${server}`);
  }

  switch (membership) {
    case 'join': return checkJoin(context, event.state_key);
    case 'invite': return checkInvite(context, event.state_key);
    case 'leave': return checkLeave(context, event.state_key);
    case 'ban': return checkBan(context, event.state_key);
    case 'knock': return checkKnock(context, event.state_key);
    default: return deny(`unknown membership ${JSON.stringify(membership)}`);
  }
}

function checkJoin(context: AuthContext, target: string): AuthResult {
  const { event, state, create } = context;
  // 4.3.1: the creator's own join, straight after the create event.
  if (event.prev_events.length === 1 && event.prev_events[0] === create.event_id && target === creatorOf(create, context.rules.id)) {
    return allow();
  }
  if (event.sender !== target) return deny(`${event.sender} cannot join the room on behalf of ${target}`);
  const current = membershipIn(state, target);
  if (current === 'ban') return deny(`${target} is banned from the room`);
  const joinRule = joinRuleIn(state);
  const invitedOrJoined = current === 'invite' || current === 'join';
  if (joinRule === 'invite' || (joinRule === 'knock' && context.rules.knock)) {
    return invitedOrJoined ? allow() : deny(`the room is ${joinRule}-only and ${target} has not been invited`);
  }
  if ((joinRule === 'restricted' && context.rules.restrictedJoins) || (joinRule === 'knock_restricted' && context.rules.knockRestricted)) {
    if (invitedOrJoined) return allow();
    return checkRestrictedAuthoriser(context);
  }
  if (joinRule === 'public') return allow();
  return deny(`the room's join rule is ${joinRule ?? 'unset'} and ${target} has not been invited`);
}

/** 4.3.5.2: the resident user who vouches for a restricted join must be joined and able to invite. */
function checkRestrictedAuthoriser(context: AuthContext): AuthResult {
  const authoriser = context.event.content.join_authorised_via_users_server;
  if (typeof authoriser !== 'string') {
    return deny('joining a restricted room without an invite needs join_authorised_via_users_server');
  }
  if (membershipIn(context.state, authoriser) !== 'join') {
    return deny(`${authoriser}, who authorised the join, is not a member of the room`);
  }
  const level = levelIn(context, authoriser);
  const inviteLevel = namedPowerLevel('invite', context.powerLevels);
  if (level < inviteLevel) {
    return deny(`${authoriser}, who authorised the join, has power level ${level}, below the invite level ${inviteLevel}`);
  }
  return allow();
}

function checkInvite(context: AuthContext, target: string): AuthResult {
  const { event, state } = context;
  if (event.content.third_party_invite !== undefined) return checkThirdPartyInvite(context, target);
  const senderMembership = membershipIn(state, event.sender);
  if (senderMembership !== 'join') return deny(`${event.sender} cannot invite while not joined (membership: ${senderMembership})`);
  const targetMembership = membershipIn(state, target);
  if (targetMembership === 'join') return deny(`${target} is already in the room`);
  if (targetMembership === 'ban') return deny(`${target} is banned from the room`);
  return requireLevel(context, 'invite', `invite ${target}`);
}

function checkLeave(context: AuthContext, target: string): AuthResult {
  const { event, state } = context;
  const targetMembership = membershipIn(state, target);
  if (event.sender === target) {
    const canLeave = targetMembership === 'invite' || targetMembership === 'join' || targetMembership === 'knock';
    return canLeave ? allow() : deny(`${target} cannot leave: their membership is ${targetMembership}`);
  }
  const senderMembership = membershipIn(state, event.sender);
  if (senderMembership !== 'join') return deny(`${event.sender} cannot kick or unban while not joined (membership: ${senderMembership})`);
  if (targetMembership === 'ban') {
    const unban = requireLevel(context, 'ban', `unban ${target}`);
    if (!unban.allowed) return unban;
  }
  return requireLevelAboveTarget(context, 'kick', target, targetMembership === 'ban' ? 'unban' : 'kick');
}

function checkBan(context: AuthContext, target: string): AuthResult {
  const { event, state } = context;
  const senderMembership = membershipIn(state, event.sender);
  if (senderMembership !== 'join') return deny(`${event.sender} cannot ban while not joined (membership: ${senderMembership})`);
  return requireLevelAboveTarget(context, 'ban', target, 'ban');
}

function checkKnock(context: AuthContext, target: string): AuthResult {
  const { event, state, rules } = context;
  const joinRule = joinRuleIn(state);
  const knockable = (joinRule === 'knock' && rules.knock) || (joinRule === 'knock_restricted' && rules.knockRestricted);
  if (!knockable) return deny(`the room's join rule is ${joinRule ?? 'unset'}, which does not allow knocking`);
  if (event.sender !== target) return deny(`${event.sender} cannot knock on behalf of ${target}`);
  const current = membershipIn(state, target);
  if (current === 'ban' || current === 'invite' || current === 'join') {
    return deny(`${target} cannot knock: their membership is already ${current}`);
  }
  return allow();
}

function requireLevel(context: AuthContext, name: 'invite' | 'ban', action: string): AuthResult {
  const level = levelIn(context, context.event.sender);
  const needed = namedPowerLevel(name, context.powerLevels);
  return level >= needed ? allow() : deny(`sender's power level ${level} is below the ${needed} needed to ${action}`);
}

/** Kick and ban: the sender needs the named level and must outrank the target. */
function requireLevelAboveTarget(context: AuthContext, name: 'kick' | 'ban', target: string, action: string): AuthResult {
  const level = levelIn(context, context.event.sender);
  const needed = namedPowerLevel(name, context.powerLevels);
  if (level < needed) return deny(`sender's power level ${level} is below the ${needed} needed to ${action} ${target}`);
  const targetLevel = levelIn(context, target);
  if (targetLevel >= level) {
    return deny(`sender's power level ${level} is not above ${target}'s ${targetLevel}, so they cannot ${action} them`);
  }
  return allow();
}
