import type { Generated, Selectable } from 'kysely';

/** One change made through the admin APIs to a user or registration token (channel changes: channel_audit). */
export interface AdminAuditTable {
  id: Generated<number>;
  actor: string;
  action: string;
  target_type: string;
  target: string;
  before: unknown;
  after: unknown;
  created_ts: number;
}

export type AdminAuditRow = Selectable<AdminAuditTable>;
