import type { AppContext } from '../app-context.ts';
import { searchUserDirectory } from '../storage/queries/user-directory.ts';

/** Spec default for `limit`, and our cap on it. */
export const DEFAULT_USER_SEARCH_LIMIT = 10;
export const MAX_USER_SEARCH_LIMIT = 50;
export const MAX_SEARCH_TERM_LENGTH = 256;

export interface UserSearchResult {
  results: Array<{ user_id: string; display_name?: string; avatar_url?: string }>;
  limited: boolean;
}

/**
 * POST /user_directory/search, as Synapse does by default: users who share a
 * room with the searcher or are in a public or world-readable room, matched on user ID or
 * display name. An empty (or blank) term finds nobody.
 */
export async function searchUsers(app: AppContext, searcher: string, term: string, limit: number): Promise<UserSearchResult> {
  const trimmed = term.trim();
  if (trimmed === '') return { results: [], limited: false };
  const rows = await searchUserDirectory(app.db, searcher, trimmed, limit + 1);
  return {
    results: rows.slice(0, limit).map((row) => ({
      user_id: row.user_id,
      ...(row.displayname ? { display_name: row.displayname } : {}),
      ...(row.avatar_url ? { avatar_url: row.avatar_url } : {}),
    })),
    limited: rows.length > limit,
  };
}
