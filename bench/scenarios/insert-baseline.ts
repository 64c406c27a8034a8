import pg from 'pg';
import { runConcurrently, type LatencySummary } from '../support.ts';

/**
 * The yardstick: single-row autocommit INSERTs on the same Postgres at the same
 * concurrency. Every send figure is also printed as a ratio to this.
 */
export async function insertBaseline(databaseUrl: string, total: number, concurrency: number): Promise<LatencySummary> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency });
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, body jsonb NOT NULL)');
    await pool.query('TRUNCATE bench_baseline');
    const payload = JSON.stringify({ msgtype: 'm.text', body: 'x'.repeat(64) });
    return await runConcurrently(total, concurrency, async () => {
      await pool.query('INSERT INTO bench_baseline (body) VALUES ($1)', [payload]);
    });
  } finally {
    await pool.query('DROP TABLE IF EXISTS bench_baseline').catch(() => undefined);
    await pool.end();
  }
}
