import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { DEFAULT_HIERARCHY_LIMIT, MAX_HIERARCHY_DEPTH, MAX_HIERARCHY_LIMIT, spaceHierarchy } from '../../rooms/space-hierarchy.ts';
import { RoomParams } from './room-params.ts';

const HierarchyQuery = z.object({
  suggested_only: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  limit: z.coerce.number().int().min(1).max(MAX_HIERARCHY_LIMIT).default(DEFAULT_HIERARCHY_LIMIT),
  max_depth: z.coerce.number().int().min(0).max(MAX_HIERARCHY_DEPTH).default(MAX_HIERARCHY_DEPTH),
  from: z.string().max(64).optional(),
});

export function mountSpaceHierarchy(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v1/rooms/{roomId}/hierarchy — the space tree the caller may see; 403 if they cannot see the root. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v1/rooms/:roomId/hierarchy', auth: 'user', params: RoomParams, query: HierarchyQuery }, async ({ app, caller, params, query }) =>
    spaceHierarchy(app, caller.userId, params.roomId, { suggestedOnly: query.suggested_only, maxDepth: query.max_depth, limit: query.limit, from: query.from }),
  );
}
