import { sql } from 'kysely';
import type { Queryable } from '../database.ts';

export interface DirectoryUser {
  user_id: string;
  displayname: string | null;
  avatar_url: string | null;
}

/**
 * Active users matching `pattern` (an ILIKE pattern) on user ID or display
 * name who are visible to `searcher`: joined to a room the searcher is joined
 * to, or to a room whose join rule is `public` or whose history is
 * `world_readable`. Prefix matches rank first, then by user ID.
 */
export async function searchVisibleUsers(db: Queryable, query: { searcher: string; pattern: string; prefix: string; limit: number }): Promise<DirectoryUser[]> {
  const { searcher, pattern, prefix, limit } = query;
  const openRooms = db
    .selectFrom('current_state as cs')
    .innerJoin('events as e', 'e.event_id', 'cs.event_id')
    .select('cs.room_id')
    .where((eb) =>
      eb.or([
        eb.and([eb('cs.type', '=', 'm.room.join_rules'), eb(sql<string>`e.json->'content'->>'join_rule'`, '=', 'public')]),
        eb.and([eb('cs.type', '=', 'm.room.history_visibility'), eb(sql<string>`e.json->'content'->>'history_visibility'`, '=', 'world_readable')]),
      ]),
    )
    .where('cs.state_key', '=', '');
  const sharedRooms = db.selectFrom('room_memberships').select('room_id').where('user_id', '=', searcher).where('membership', '=', 'join');
  const visibleUsers = db
    .selectFrom('room_memberships')
    .select('user_id')
    .where('membership', '=', 'join')
    .where((eb) => eb.or([eb('room_id', 'in', sharedRooms), eb('room_id', 'in', openRooms)]));
  return db
    .selectFrom('users')
    .select(['user_id', 'displayname', 'avatar_url'])
    .where('deactivated', '=', false)
    .where('user_id', 'in', visibleUsers)
    .where((eb) => eb.or([eb('user_id', 'ilike', pattern), eb('displayname', 'ilike', pattern)]))
    .orderBy(sql`(displayname ILIKE ${prefix} OR substr(user_id, 2) ILIKE ${prefix})`, 'desc')
    .orderBy('user_id')
    .limit(limit)
    .execute();
}
