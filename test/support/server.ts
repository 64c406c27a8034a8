import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigFile } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startHomeserver, type Homeserver } from '../../server/homeserver.ts';
import { createTestDatabase } from './database.ts';

export interface TestServer extends Homeserver {
  url: string;
  databaseUrl: string;
  dataDir: string;
  /**
   * Stops this process's server (keeping database and data dir) and starts a
   * new one on them, as a restart would; the new one has a new port. Stop only
   * the returned server afterwards.
   */
  restart(): Promise<TestServer>;
}

/** Limits high enough that tests never trip them unless they set their own. */
const RELAXED = { per_second: 1000, burst_count: 10000 };

/**
 * The real server, on a fresh database and port 0, with `overrides` on top of
 * test defaults (open registration without verification, relaxed rate limits).
 * `logDestination` receives the server's log lines (otherwise they are silent).
 */
export async function startTestServer(
  overrides: ConfigFile = {},
  options: { logDestination?: NodeJS.WritableStream } = {},
): Promise<TestServer> {
  const database = await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-test-'));
  const config = loadConfig({
    values: {
      server_name: 'localhost',
      data_dir: dataDir,
      listeners: [{ port: 0, bind_addresses: ['127.0.0.1'], type: 'http' }],
      enable_registration: true,
      enable_registration_without_verification: true,
      registration_shared_secret: 'test-shared-secret',
      rc_login: { address: RELAXED, account: RELAXED, failed_attempts: RELAXED },
      rc_registration: RELAXED,
      rc_message: RELAXED,
      ...overrides,
    },
    env: { DATABASE_URL: database.url },
  });
  // A capture stream gets every line (debug and up), so tests can check what is logged.
  const logger = options.logDestination
    ? createLogger('debug', options.logDestination)
    : createLogger(process.env.PALISADE_TEST_LOG ?? 'silent');
  const start = async (): Promise<TestServer> => {
    const homeserver = await startHomeserver(config, logger);
    return {
      ...homeserver,
      url: homeserver.urls[0],
      databaseUrl: database.url,
      dataDir,
      async stop() {
        await homeserver.stop();
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
      async restart() {
        await homeserver.stop();
        return start();
      },
    };
  };
  return start();
}
