import type { AppContext } from '../app-context.ts';
import { exclusiveOwnerOfUser } from '../appservices/namespaces.ts';
import { searchUserDirectory, type DirectoryUser } from '../storage/queries/user-directory.ts';

/** Spec default for `limit`, and our cap on it. */
export const DEFAULT_USER_SEARCH_LIMIT = 10;
export const MAX_USER_SEARCH_LIMIT = 50;
export const MAX_SEARCH_TERM_LENGTH = 256;
/** Pages of matches read while skipping appservice users, so a term matching thousands of ghosts stays cheap. */
const MAX_PAGES = 5;

export interface UserSearchResult {
  results: Array<{ user_id: string; display_name?: string; avatar_url?: string }>;
  limited: boolean;
}

/**
 * POST /user_directory/search, as Synapse does by default: users who share a
 * room with the searcher or are in a public or world-readable room, matched on user ID or
 * display name. An empty (or blank) term finds nobody. Appservice users (its
 * sender and its exclusive namespaces) are left out, as Synapse does: they are
 * bridged puppets and bots, not people to look up.
 */
export async function searchUsers(app: AppContext, searcher: string, term: string, limit: number): Promise<UserSearchResult> {
  const trimmed = term.trim();
  if (trimmed === '') return { results: [], limited: false };
  const { rows, unread } = await searchSkippingAppserviceUsers(app, searcher, trimmed, limit + 1);
  return {
    results: rows.slice(0, limit).map((row) => ({
      user_id: row.user_id,
      ...(row.displayname ? { display_name: row.displayname } : {}),
      ...(row.avatar_url ? { avatar_url: row.avatar_url } : {}),
    })),
    limited: rows.length > limit || unread,
  };
}

/**
 * Up to `wanted` matches that are not appservice users. Namespaces are
 * JavaScript regexes, so they are applied here, reading further pages while
 * whole pages are appservice users (at most MAX_PAGES of them).
 */
async function searchSkippingAppserviceUsers(app: AppContext, searcher: string, term: string, wanted: number): Promise<{ rows: DirectoryUser[]; unread: boolean }> {
  const kept: DirectoryUser[] = [];
  const pageSize = Math.max(wanted, 20);
  for (let page = 0; page < MAX_PAGES; page++) {
    const rows = await searchUserDirectory(app.db, searcher, term, pageSize, page * pageSize);
    kept.push(...rows.filter((row) => !exclusiveOwnerOfUser(app.appservices, row.user_id)));
    // `unread`: matches were left unread, so the answer is `limited`.
    if (rows.length < pageSize || kept.length >= wanted) return { rows: kept.slice(0, wanted), unread: false };
  }
  return { rows: kept, unread: true };
}
