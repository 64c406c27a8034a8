import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { DEFAULT_USER_SEARCH_LIMIT, MAX_USER_SEARCH_LIMIT, searchUserDirectory } from '../../accounts/user-directory.ts';
import { route } from '../../http/route.ts';

const SearchBody = z.looseObject({
  search_term: z.string().max(256),
  limit: z.number().int().min(1).max(MAX_USER_SEARCH_LIMIT).default(DEFAULT_USER_SEARCH_LIMIT),
});

export function mountUserDirectory(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/user_directory/search — users who share a room with the caller or sit in public rooms. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/user_directory/search', auth: 'user', body: SearchBody }, async ({ app, caller, body }) =>
    searchUserDirectory(app, caller.userId, body.search_term, body.limit),
  );
}
