import type { Queryable } from '../database.ts';
import type { ChannelAuditRow, ChannelPolicyRow } from '../tables/channels.ts';

export async function findChannelPolicy(db: Queryable, roomId: string): Promise<ChannelPolicyRow | undefined> {
  return db.selectFrom('channel_policies').selectAll().where('room_id', '=', roomId).executeTakeFirst();
}

export async function upsertChannelPolicy(db: Queryable, row: ChannelPolicyRow): Promise<void> {
  // jsonb: an array must be sent as JSON text, or pg would make it a Postgres array.
  const values = { ...row, allowed_bots: row.allowed_bots === null ? null : (JSON.stringify(row.allowed_bots) as unknown as string[]) };
  await db
    .insertInto('channel_policies')
    .values(values)
    .onConflict((c) => c.column('room_id').doUpdateSet(values))
    .execute();
}

/** Users whose membership of the room is one of these (join, invite, knock …). */
export async function membersWith(db: Queryable, roomId: string, memberships: readonly string[]): Promise<Array<{ user_id: string; membership: string; event_id: string }>> {
  return db
    .selectFrom('room_memberships')
    .select(['user_id', 'membership', 'event_id'])
    .where('room_id', '=', roomId)
    .where('membership', 'in', [...memberships])
    .orderBy('stream_ordering')
    .execute();
}

export async function insertChannelAudit(db: Queryable, row: { room_id: string; actor: string; action: string; before: unknown; after: unknown; created_ts: number }): Promise<void> {
  await db
    .insertInto('channel_audit')
    .values({ ...row, before: JSON.stringify(row.before ?? null), after: JSON.stringify(row.after ?? null) })
    .execute();
}

export async function channelAuditOf(db: Queryable, roomId: string, limit: number, beforeId?: number): Promise<ChannelAuditRow[]> {
  let query = db.selectFrom('channel_audit').selectAll().where('room_id', '=', roomId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}
