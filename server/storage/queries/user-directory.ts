import { sql } from 'kysely';
import type { Queryable } from '../database.ts';

export interface DirectoryUser {
  user_id: string;
  displayname: string | null;
  avatar_url: string | null;
}

/**
 * Users whose ID or display name contains `term` (case-insensitive), among
 * those the searcher may discover: users sharing a joined room with them and
 * users joined to a room whose join rule is public or whose history is
 * world-readable (the spec's minimum). Deactivated users never
 * appear. At most `limit` rows after the first `offset`, display-name matches first.
 */
export async function searchUserDirectory(db: Queryable, searcher: string, term: string, limit: number, offset = 0): Promise<DirectoryUser[]> {
  const pattern = `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  const { rows } = await sql<DirectoryUser>`
    SELECT u.user_id, u.displayname, u.avatar_url
    FROM users u
    WHERE NOT u.deactivated
      AND (u.user_id ILIKE ${pattern} OR u.displayname ILIKE ${pattern})
      AND EXISTS (
        SELECT 1 FROM room_memberships m
        WHERE m.user_id = u.user_id AND m.membership = 'join'
          AND (
            m.room_id IN (SELECT mine.room_id FROM room_memberships mine WHERE mine.user_id = ${searcher} AND mine.membership = 'join')
            OR m.room_id IN (
              SELECT cs.room_id FROM current_state cs JOIN events e ON e.event_id = cs.event_id
              WHERE cs.state_key = '' AND (
                (cs.type = 'm.room.join_rules' AND e.json->'content'->>'join_rule' = 'public')
                -- Spec: users in world-readable rooms are discoverable too.
                OR (cs.type = 'm.room.history_visibility' AND e.json->'content'->>'history_visibility' = 'world_readable')
              )
            )
          )
      )
    ORDER BY (u.displayname ILIKE ${pattern}) DESC, u.user_id
    LIMIT ${limit} OFFSET ${offset}`.execute(db);
  return rows;
}
