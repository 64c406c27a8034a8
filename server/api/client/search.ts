import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { RoomEventFilterSchema } from '../../rooms/room-event-filter.ts';
import { MAX_CONTEXT_LIMIT, searchRoomEvents } from '../../rooms/search.ts';

const ContextLimit = z.number().int().min(0).max(MAX_CONTEXT_LIMIT).optional();
const RoomEventsCriteria = z.looseObject({
  search_term: z.string().max(512),
  keys: z.array(z.enum(['content.body', 'content.name', 'content.topic'])).max(3).optional(),
  filter: RoomEventFilterSchema.optional(),
  order_by: z.enum(['recent', 'rank']).default('rank'),
  event_context: z.looseObject({ before_limit: ContextLimit, after_limit: ContextLimit, include_profile: z.boolean().optional() }).optional(),
  include_state: z.boolean().optional(),
  groupings: z.looseObject({ group_by: z.array(z.looseObject({ key: z.enum(['room_id', 'sender']) })).max(2).optional() }).optional(),
});
const SearchBody = z.looseObject({ search_categories: z.looseObject({ room_events: RoomEventsCriteria.optional() }) });

export function mountSearch(router: Router, app: AppContext): void {
  /** POST /_matrix/client/v3/search — room events only (the one category the spec defines); history visibility applies. */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/v3/search', auth: 'user', query: z.object({ next_batch: z.string().max(64).optional() }), body: SearchBody },
    async ({ app, caller, query, body }) => {
      const criteria = body.search_categories.room_events;
      if (!criteria) return { search_categories: {} };
      return searchRoomEvents(app, caller, {
        searchTerm: criteria.search_term,
        keys: criteria.keys,
        filter: criteria.filter ?? {},
        orderBy: criteria.order_by,
        eventContext: criteria.event_context,
        includeState: criteria.include_state ?? false,
        groupBy: [...new Set((criteria.groupings?.group_by ?? []).map((group) => group.key))],
        nextBatch: query.next_batch,
      });
    },
  );
}
