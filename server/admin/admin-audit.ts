import type { AppContext } from '../app-context.ts';
import type { Queryable } from '../storage/database.ts';
import { adminAuditPage, insertAdminAudit, type AuditFilter } from '../storage/queries/admin-audit.ts';

export const MAX_ADMIN_AUDIT_PAGE = 500;

/** What a server admin changed, and what it was changed to. Never secrets: no passwords, no hashes, no access tokens. */
export interface AdminAction {
  actor: string;
  action: AdminActionName;
  target_type: 'user' | 'registration_token';
  target: string;
  before: unknown;
  after: unknown;
}

export type AdminActionName =
  | 'user.create'
  | 'user.deactivate'
  | 'user.reactivate'
  | 'user.password_reset'
  | 'user.admin'
  | 'user.profile'
  | 'user.logout'
  | 'registration_token.create'
  | 'registration_token.update'
  | 'registration_token.expire'
  | 'registration_token.delete';

/** Writes one audit entry; pass the transaction the change ran in when there is one, so both or neither are kept. */
export async function recordAdminAction(db: Queryable, action: AdminAction): Promise<void> {
  await insertAdminAudit(db, action, Date.now());
}

/**
 * The server-wide audit log for server admins, newest first: every action of
 * the admin APIs (users, registration tokens and channels). `next_before` pages back.
 */
export async function readAdminAuditLog(app: AppContext, filter: AuditFilter, limit: number, before?: number) {
  const rows = await adminAuditPage(app.db, filter, Math.min(limit, MAX_ADMIN_AUDIT_PAGE), before);
  return {
    entries: rows.map((row) => ({
      id: row.id,
      actor: row.actor,
      action: row.action,
      target_type: row.target_type,
      target: row.target,
      before: row.before,
      after: row.after,
      ts: row.created_ts,
    })),
    ...(rows.length === limit ? { next_before: rows[rows.length - 1].id } : {}),
  };
}
