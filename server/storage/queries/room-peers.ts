import type { Queryable } from '../database.ts';

/** Users joined to at least one room the viewer is joined to (the viewer included when joined anywhere). */
export async function listJoinedRoomPeers(db: Queryable, viewer: string): Promise<string[]> {
  const rows = await db
    .selectFrom('room_memberships as mine')
    .innerJoin('room_memberships as other', 'other.room_id', 'mine.room_id')
    .select('other.user_id')
    .distinct()
    .where('mine.user_id', '=', viewer)
    .where('mine.membership', '=', 'join')
    .where('other.membership', '=', 'join')
    .execute();
  return rows.map((row) => row.user_id);
}
