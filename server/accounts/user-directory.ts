import type { AppContext } from '../app-context.ts';
import { searchVisibleUsers } from '../storage/queries/user-directory.ts';

export const DEFAULT_USER_SEARCH_LIMIT = 10;
export const MAX_USER_SEARCH_LIMIT = 50;

/**
 * POST /user_directory/search: users the searcher may discover (sharing a
 * room with them, or joined to a public or world-readable room), matched
 * case-insensitively on user ID or display name. `limited` says that more
 * matched than `limit`. Deactivated users never appear.
 */
export async function searchUserDirectory(app: AppContext, searcher: string, searchTerm: string, limit: number) {
  const term = searchTerm.trim();
  if (term === '') return { results: [], limited: false };
  const escaped = term.replace(/[\\%_]/g, '\\$&');
  const rows = await searchVisibleUsers(app.db, { searcher, pattern: `%${escaped}%`, prefix: `${escaped}%`, limit: limit + 1 });
  return {
    results: rows.slice(0, limit).map((row) => ({
      user_id: row.user_id,
      ...(row.displayname ? { display_name: row.displayname } : {}),
      ...(row.avatar_url ? { avatar_url: row.avatar_url } : {}),
    })),
    limited: rows.length > limit,
  };
}
