import { randomBytes } from 'node:crypto';
import { databaseUrl, withAdminClient } from './postgres.ts';

/**
 * A fresh database for one test file, cloned from the migrated template that
 * test/run.ts prepared, so files run in parallel without sharing rows.
 */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.PALISADE_TEST_ADMIN_URL;
  const template = process.env.PALISADE_TEST_TEMPLATE;
  if (!adminUrl || !template) throw new Error('run the tests with `npm test` (test/run.ts prepares the database)');
  const runId = /^palisade_template_(\d+)$/.exec(template)?.[1] ?? '0';
  const name = `palisade_t_${runId}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    url: databaseUrl(adminUrl, name),
    drop: () => withAdminClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
