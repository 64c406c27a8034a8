/**
 * `npm test`: prepares a real Postgres (the machine's, or an embedded one when
 * none answers), a migrated template database each test file clones, and
 * Redis when one answers; then runs every test file with node's test runner.
 * Extra arguments select files: `npm test -- test/integration/login.test.ts`.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../server/logger.ts';
import { connectDatabase, startEmbeddedDatabase, type DatabaseHandle } from '../server/storage/connection.ts';
import { migrateToLatest } from '../server/storage/migrate.ts';
import { databaseUrl, findLocalPostgres, withAdminClient } from './support/postgres.ts';

const TEST_FILES = ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];
/** Test files are I/O bound (HTTP + Postgres), so more files than cores can run at once. */
const CONCURRENCY = Number(process.env.TEST_CONCURRENCY ?? 3);

async function main(): Promise<number> {
  const logger = createLogger('warn');
  let embedded: { handle: DatabaseHandle; dir: string } | undefined;
  let adminUrl = await findLocalPostgres();
  if (!adminUrl) {
    process.stdout.write('No Postgres at 127.0.0.1:5432: starting an embedded PostgreSQL for the tests\n');
    const dir = mkdtempSync(join(tmpdir(), 'palisade-test-pg-'));
    chmodSync(dir, 0o755); // run as root, Postgres runs as the `postgres` user

    const handle = await startEmbeddedDatabase(dir, logger);
    embedded = { handle, dir };
    adminUrl = handle.url;
  }
  const template = `palisade_template_${process.pid}`;
  await withAdminClient(adminUrl, async (client) => {
    await dropLeftovers(client);
    await client.query(`CREATE DATABASE ${template}`);
  });
  const templateDb = connectDatabase(databaseUrl(adminUrl, template), { poolSize: 1 });
  await migrateToLatest(templateDb.db);
  await templateDb.stop();

  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisUp = await redisAnswers(redisUrl);
  if (!redisUp) process.stdout.write(`*** Redis did not answer at ${redisUrl}: tests that need it will be SKIPPED ***\n`);

  const files = process.argv.slice(2);
  const code = await new Promise<number>((resolveRun) => {
    const child = spawn(
      process.execPath,
      // No --test-force-exit: it let a fast file's child exit before its results reached the runner,
      // so its tests vanished from the count without failing. (matrix-js-sdk's leftover sync timer
      // keeps each e2e file alive ~110 s after its tests instead; the e2e files close their clients.)
      ['--test', `--test-concurrency=${CONCURRENCY}`, '--test-reporter=spec', '--test-timeout=300000', ...(files.length ? files : TEST_FILES)],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          PALISADE_TEST_ADMIN_URL: adminUrl,
          PALISADE_TEST_TEMPLATE: template,
          PALISADE_TEST_REDIS_URL: redisUp ? redisUrl : '',
        },
      },
    );
    child.on('exit', (exitCode) => resolveRun(exitCode ?? 1));
  });

  await withAdminClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));
  if (embedded) {
    await embedded.handle.stop();
    rmSync(embedded.dir, { recursive: true, force: true });
  }
  return code;
}

/** Databases of killed earlier runs. */
async function dropLeftovers(client: import('pg').Client): Promise<void> {
  const { rows } = await client.query(
    "SELECT datname FROM pg_database WHERE datname LIKE 'palisade\\_t\\_%' OR datname LIKE 'palisade\\_template\\_%'",
  );
  for (const { datname } of rows) {
    // Names carry the pid of the run that made them; a live run's databases are left alone.
    const pid = /^palisade_(?:template|t)_(\d+)/.exec(datname)?.[1];
    if (pid && processAlive(Number(pid))) continue;
    await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolvePing) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')));
  });
}

process.exitCode = await main();
