import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Db } from '../../server/storage/database.ts';

/**
 * The migrated tables have exactly the columns their kysely table types
 * declare. `declared` maps each table to an object with one key per column,
 * typed `satisfies Record<keyof XTable, 1>` at the call site so the compiler
 * keeps it in step with the type.
 */
export async function assertTableColumns(db: Db, declared: Record<string, Record<string, 1>>): Promise<void> {
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = ANY(${Object.keys(declared)})`.execute(db);
  for (const [table, columns] of Object.entries(declared)) {
    const actual = rows.filter((row) => row.table_name === table).map((row) => row.column_name).sort();
    assert.deepEqual(actual, Object.keys(columns).sort(), table);
  }
}
