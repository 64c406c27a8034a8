import type { AppContext } from '../app-context.ts';
import { channelAuditOf } from '../storage/queries/channels.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import { requireChannelRole, type ChannelActor } from './channel-access.ts';

export const MAX_AUDIT_PAGE = 500;

/** A channel's audit log, newest first; `next_before` pages back. */
export async function channelAuditLog(app: AppContext, actor: ChannelActor, roomId: string, limit: number, before?: number) {
  // A server admin may read the log of any room, also one closed with nobody left in it.
  if (!actor.isAdmin || !(await findRoom(app.db, roomId))) await requireChannelRole(app, actor, roomId, 'admin');
  const rows = await channelAuditOf(app.db, roomId, Math.min(limit, MAX_AUDIT_PAGE), before);
  return {
    entries: rows.map((row) => ({ id: row.id, actor: row.actor, action: row.action, before: row.before, after: row.after, ts: row.created_ts })),
    ...(rows.length === limit ? { next_before: rows[rows.length - 1].id } : {}),
  };
}
