import { sql } from 'kysely';
import type { Queryable } from '../database.ts';

export interface AuditRecord {
  actor: string;
  action: string;
  target_type: string;
  target: string;
  before: unknown;
  after: unknown;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target_type?: string;
  target?: string;
}

export interface AuditEntryRow extends AuditRecord {
  id: number;
  created_ts: number;
}

export async function insertAdminAudit(db: Queryable, record: AuditRecord, now: number): Promise<void> {
  await db
    .insertInto('admin_audit')
    .values({ ...record, before: JSON.stringify(record.before ?? null), after: JSON.stringify(record.after ?? null), created_ts: now })
    .execute();
}

/**
 * The server-wide audit log, newest first: admin_audit and channel_audit
 * merged (one id sequence feeds both, so ids order them). Channel rows have
 * target_type 'channel' and the room ID as target.
 */
export async function adminAuditPage(db: Queryable, filter: AuditFilter, limit: number, beforeId?: number): Promise<AuditEntryRow[]> {
  const wantsChannels = filter.target_type === undefined || filter.target_type === 'channel';
  const wantsOthers = filter.target_type !== 'channel';
  let others = db
    .selectFrom('admin_audit')
    .select(['id', 'actor', 'action', 'target_type', 'target', 'before', 'after', 'created_ts']);
  if (filter.target_type !== undefined) others = others.where('target_type', '=', filter.target_type);
  if (filter.target !== undefined) others = others.where('target', '=', filter.target);
  if (filter.actor !== undefined) others = others.where('actor', '=', filter.actor);
  if (filter.action !== undefined) others = others.where('action', '=', filter.action);
  if (beforeId !== undefined) others = others.where('id', '<', beforeId);

  let channels = db
    .selectFrom('channel_audit')
    .select(['id', 'actor', 'action', sql<string>`'channel'`.as('target_type'), 'room_id as target', 'before', 'after', 'created_ts']);
  if (filter.target !== undefined) channels = channels.where('room_id', '=', filter.target);
  if (filter.actor !== undefined) channels = channels.where('actor', '=', filter.actor);
  if (filter.action !== undefined) channels = channels.where('action', '=', filter.action);
  if (beforeId !== undefined) channels = channels.where('id', '<', beforeId);

  const merged = wantsChannels && wantsOthers ? others.unionAll(channels) : wantsChannels ? channels : others;
  // Postgres merges the two id-ordered primary-key scans, so a page reads about `limit` rows of each.
  const rows = await db.selectFrom(merged.as('entries')).selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows as AuditEntryRow[];
}
