import { sql } from 'kysely';
import type { Db } from '../../server/storage/database.ts';

/** The account tables a refusal must leave alone. */
export const ACCOUNT_TABLES = ['users', 'devices', 'access_tokens', 'registration_tokens', 'uia_sessions'] as const;
export type AccountTable = (typeof ACCOUNT_TABLES)[number];

/**
 * Every row of the given tables as sorted JSON text, so two snapshots compare
 * with `deepEqual` and a difference shows which row changed.
 */
export async function snapshotTables(db: Db, tables: readonly AccountTable[] = ACCOUNT_TABLES): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const table of tables) {
    const { rows } = await sql<{ row: string }>`SELECT row_to_json(t)::text AS row FROM ${sql.table(table)} t`.execute(db);
    snapshot[table] = rows.map((entry) => entry.row).sort();
  }
  return snapshot;
}

export async function countRows(db: Db, table: AccountTable): Promise<number> {
  const { rows } = await sql<{ count: number }>`SELECT count(*)::int AS count FROM ${sql.table(table)}`.execute(db);
  return rows[0].count;
}
