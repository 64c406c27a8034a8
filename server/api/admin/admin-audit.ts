import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { MAX_ADMIN_AUDIT_PAGE, readAdminAuditLog } from '../../admin/admin-audit.ts';

const AuditQuery = z.looseObject({
  limit: z.coerce.number().int().positive().max(MAX_ADMIN_AUDIT_PAGE).default(100),
  before: z.coerce.number().int().positive().optional(),
  actor: z.string().min(1).max(255).optional(),
  action: z.string().min(1).max(64).optional(),
  target_type: z.enum(['user', 'registration_token', 'channel']).optional(),
  target: z.string().min(1).max(255).optional(),
});

export function mountAdminAudit(router: Router, app: AppContext): void {
  /** GET /_palisade/admin/v1/audit — every admin API change (users, tokens, channels), newest first; server admins only. */
  route(router, app, { method: 'GET', path: '/_palisade/admin/v1/audit', auth: 'admin', query: AuditQuery }, ({ app, query }) =>
    readAdminAuditLog(app, { actor: query.actor, action: query.action, target_type: query.target_type, target: query.target }, query.limit, query.before),
  );
}
