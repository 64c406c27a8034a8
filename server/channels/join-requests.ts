import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { changeMembershipOf } from '../rooms/membership.ts';
import { findEvents } from '../storage/queries/events.ts';
import { findMembership } from '../storage/queries/room-state.ts';
import { membersWith } from '../storage/queries/channels.ts';
import { requireChannelRole, type ChannelActor } from './channel-access.ts';
import { audit } from './channel-admin.ts';

/** Most pending requests one listing returns; a channel with more has a bigger problem than paging. */
export const MAX_JOIN_REQUESTS = 1000;

export interface JoinRequest {
  user_id: string;
  reason: string | null;
  requested_ts: number;
  event_id: string;
}

/**
 * Join requests are Matrix knocks: a pending request is a member whose
 * membership is `knock`. Approving invites them, denying kicks them with a
 * reason; either way the requester sees the outcome in their own sync, as
 * with any knock, and a moderator using a Matrix client sees the same.
 */
export async function listJoinRequests(app: AppContext, actor: ChannelActor, roomId: string): Promise<JoinRequest[]> {
  await requireChannelRole(app, actor, roomId, 'moderator');
  const knocks = (await membersWith(app.db, roomId, ['knock'])).slice(0, MAX_JOIN_REQUESTS);
  const events = new Map((await findEvents(app.db, knocks.map((knock) => knock.event_id))).map((row) => [row.event_id, row.json]));
  return knocks.map((knock) => {
    const event = events.get(knock.event_id);
    const reason = event?.content.reason;
    return { user_id: knock.user_id, reason: typeof reason === 'string' ? reason : null, requested_ts: event?.origin_server_ts ?? 0, event_id: knock.event_id };
  });
}

export async function decideJoinRequest(app: AppContext, actor: ChannelActor, roomId: string, userId: string, decision: 'approve' | 'deny', reason?: string): Promise<void> {
  const { sender } = await requireChannelRole(app, actor, roomId, 'moderator');
  if ((await findMembership(app.db, roomId, userId))?.membership !== 'knock') throw notFound(`${userId} has no pending join request for ${roomId}`);
  await changeMembershipOf(app, sender, roomId, decision === 'approve' ? 'invite' : 'kick', userId, reason);
  await audit(app, actor, roomId, decision === 'approve' ? 'join_request.approve' : 'join_request.deny', { user_id: userId, membership: 'knock' }, {
    user_id: userId,
    membership: decision === 'approve' ? 'invite' : 'leave',
    ...(reason ? { reason } : {}),
  });
}
