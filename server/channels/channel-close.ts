import type { AppContext } from '../app-context.ts';
import { sendEvent } from '../rooms/persist-event.ts';
import { membersWith } from '../storage/queries/channels.ts';
import { currentStateEvents } from '../storage/queries/room-state.ts';
import { findRoom, setRoomPublic } from '../storage/queries/rooms.ts';
import { MatrixError, notFound } from '../errors.ts';
import { requireChannelRole, type ChannelActor } from './channel-access.ts';
import { audit } from './channel-admin.ts';
import { purgeRoomHistoryBefore } from './retention.ts';

export interface CloseOptions {
  reason?: string;
  /** Also purge the history, as the retention job would with a maximum age of zero. */
  purge: boolean;
}

export interface CloseOutcome {
  removed: string[];
  /** Members whose leave was refused (they had left meanwhile). */
  failed: string[];
  purged: { deleted: number; stubbed: number; media: number } | null;
}

/**
 * Closes a channel for good: the join rule becomes `invite`, the directory
 * listing goes, and everyone in it or on the way in (joined, invited,
 * knocking) is removed, the channel admin making the change last. Each member
 * is removed by a `leave` of their own with the reason, as Synapse's room
 * shutdown does: a kick would be refused by the Matrix rules for members at
 * the sender's own level (other channel admins), and every member is local.
 * With `purge`, the history is then purged by the retention code (messages
 * gone for good; current state kept, so the room and its audit log remain).
 */
export async function closeChannel(app: AppContext, actor: ChannelActor, roomId: string, options: CloseOptions): Promise<CloseOutcome> {
  const { sender } = await requireChannelRole(app, actor, roomId, 'admin');
  return closeRoom(app, actor, roomId, sender, options);
}

/** Most members an audit entry of a close names; the count is always whole. */
const MAX_AUDITED_MEMBERS = 1000;

/**
 * Closes a room as `closeChannel` describes. Without a `sender` (nobody local
 * left with the power to change the join rule, as when a server admin shuts
 * down an abandoned room) the join rule is left as it is; the rest is done.
 */
export async function closeRoom(app: AppContext, actor: ChannelActor, roomId: string, sender: string | undefined, options: CloseOptions): Promise<CloseOutcome> {
  const room = await findRoom(app.db, roomId);
  if (!room) throw notFound(`Room ${roomId} is not known to this server`);
  const joinRule = (await currentStateEvents(app.db, roomId, [{ type: 'm.room.join_rules', state_key: '' }]))[0]?.json.content.join_rule ?? null;
  if (sender && joinRule !== 'invite') await sendEvent(app, roomId, { sender, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' } });
  // Read after the join rule changed, so nobody who joined meanwhile stays behind.
  const present = await membersWith(app.db, roomId, ['join', 'invite', 'knock']);
  const before = {
    join_rule: joinRule,
    published: room.is_public,
    member_count: present.length,
    members: present.slice(0, MAX_AUDITED_MEMBERS).map((member) => ({ user_id: member.user_id, membership: member.membership })),
  };

  await setRoomPublic(app.db, roomId, false);
  const reason = options.reason ?? 'This channel was closed';
  const removed: string[] = [];
  const failed: string[] = [];
  for (const member of [...present.filter((member) => member.user_id !== sender), ...present.filter((member) => member.user_id === sender)]) {
    try {
      await sendEvent(app, roomId, { sender: member.user_id, type: 'm.room.member', stateKey: member.user_id, content: { membership: 'leave', reason } });
    } catch (error) {
      // Someone who left (or was removed) meanwhile is refused a second leave; the others still go.
      if (!(error instanceof MatrixError)) throw error;
      failed.push(member.user_id);
      continue;
    }
    app.typing.set(roomId, member.user_id, false, 0);
    removed.push(member.user_id);
  }
  const purged = options.purge ? await purgeRoomHistoryBefore(app, roomId, Date.now()) : null;
  await audit(app, actor, roomId, 'channel.close', before, { join_rule: sender ? 'invite' : joinRule, published: false, member_count: 0, members: [], reason, purged });
  return { removed, failed, purged };
}
