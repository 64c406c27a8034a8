import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { DEFAULT_USER_SEARCH_LIMIT, MAX_SEARCH_TERM_LENGTH, MAX_USER_SEARCH_LIMIT, searchUsers } from '../../accounts/user-directory.ts';
import { route } from '../../http/route.ts';

const SearchBody = z.looseObject({
  search_term: z.string().max(MAX_SEARCH_TERM_LENGTH),
  limit: z.number().int().min(0).default(DEFAULT_USER_SEARCH_LIMIT),
});

export function mountUserDirectory(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/user_directory/search — users sharing a room with the caller or in public rooms; `limit` capped at 50. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/user_directory/search', auth: 'user', body: SearchBody }, ({ app, caller, body }) =>
    searchUsers(app, caller.userId, body.search_term, Math.min(body.limit, MAX_USER_SEARCH_LIMIT)),
  );
}
