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

/** Of `candidates`, those joined to at least one room the viewer is joined to. */
export async function joinedRoomPeersAmong(db: Queryable, viewer: string, candidates: readonly string[]): Promise<string[]> {
  if (candidates.length === 0) return [];
  const rows = await db
    .selectFrom('room_memberships as mine')
    .innerJoin('room_memberships as other', 'other.room_id', 'mine.room_id')
    .select('other.user_id')
    .distinct()
    .where('mine.user_id', '=', viewer)
    .where('mine.membership', '=', 'join')
    .where('other.membership', '=', 'join')
    .where('other.user_id', 'in', [...candidates])
    .execute();
  return rows.map((row) => row.user_id);
}
