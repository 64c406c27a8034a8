import type { Queryable, Tx } from './database.ts';

/** Runs `work` in a transaction, or in the caller's when `db` already is one (kysely cannot nest them). */
export async function inTransaction<T>(db: Queryable, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Tx);
  return db.transaction().execute(work);
}
