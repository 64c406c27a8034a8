import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { roomSummaryFor } from '../../rooms/room-summary.ts';

const SummaryParams = z.object({ roomIdOrAlias: z.string().min(1).max(255) });
// `via` names servers to ask over federation, which this server does not do: accepted and ignored.
const SummaryQuery = z.looseObject({ via: z.union([z.string().max(255), z.array(z.string().max(255)).max(20)]).optional() });

export function mountRoomSummary(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v1/room_summary/{roomIdOrAlias} — token optional; 404 for rooms the caller may not preview. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v1/room_summary/:roomIdOrAlias', auth: 'optional', params: SummaryParams, query: SummaryQuery }, async ({ app, caller, params }) =>
    roomSummaryFor(app, caller?.userId, params.roomIdOrAlias),
  );
}
