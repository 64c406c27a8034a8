import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { DEFAULT_NOTIFICATIONS_LIMIT, MAX_NOTIFICATIONS_LIMIT, listNotifications } from '../../push/notifications.ts';
import { listPushers, setPusher } from '../../push/pushers.ts';

/** Spec limits: app_id 64 chars, pushkey 512 bytes; the rest are ours. `data` is bounded by the JSON body limit and key count. */
const PusherBody = z.looseObject({
  kind: z.string().min(1).max(32).nullable(),
  app_id: z.string().min(1).max(64),
  pushkey: z.string().min(1).refine((value) => Buffer.byteLength(value) <= 512, 'must be at most 512 bytes'),
  app_display_name: z.string().max(255).optional(),
  device_display_name: z.string().max(255).optional(),
  profile_tag: z.string().max(255).optional(),
  lang: z.string().max(32).optional(),
  data: z
    .record(z.string().max(255), z.unknown())
    .refine((data) => Object.keys(data).length <= 32 && JSON.stringify(data).length <= 4096, 'must have at most 32 keys and 4096 bytes of JSON')
    .optional(),
  append: z.boolean().optional(),
});

const NotificationsQuery = z.object({
  from: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_NOTIFICATIONS_LIMIT).default(DEFAULT_NOTIFICATIONS_LIMIT),
  only: z.string().max(32).optional(),
});

export function mountPushers(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/pushers — the caller's pushers (every device's). */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/pushers', auth: 'user' }, async ({ app, caller }) => ({ pushers: await listPushers(app, caller.userId) }));

  /** POST /_matrix/client/v3/pushers/set — create, replace or (kind null) delete; http pushers only. */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/pushers/set', auth: 'user', body: PusherBody }, async ({ app, caller, body }) => {
    await setPusher(app, caller, body);
    return {};
  });

  /** GET /_matrix/client/v3/notifications — what push rules said `notify` for, newest first; `only=highlight`. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/notifications', auth: 'user', query: NotificationsQuery }, ({ app, caller, query }) =>
    listNotifications(app, caller, { from: query.from, limit: query.limit, onlyHighlight: query.only === 'highlight' }),
  );
}
