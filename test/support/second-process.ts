import { loadConfig, type ConfigFile } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startHomeserver } from '../../server/homeserver.ts';
import type { TestServer } from './server.ts';

/** As startTestServer's: limits tests never trip unless they set their own. */
const RELAXED = { per_second: 1000, burst_count: 10000 };

/**
 * Another API process beside `first` (started with Redis): same database, data
 * dir (signing key) and Redis prefix, its own port; `overrides` on top. Stop it before `first`,
 * whose stop drops the database; `restart` is not supported on it.
 */
export async function startAnotherProcess(first: TestServer, redis: Pick<ConfigFile, 'redis' | 'redis_key_prefix'>, overrides: ConfigFile = {}): Promise<TestServer> {
  const homeserver = await startHomeserver(
    loadConfig({
      values: {
        server_name: 'localhost',
        data_dir: first.dataDir,
        listeners: [{ port: 0, bind_addresses: ['127.0.0.1'], type: 'http' }],
        registration_shared_secret: 'test-shared-secret',
        rc_login: { address: RELAXED, account: RELAXED, failed_attempts: RELAXED },
        rc_registration: RELAXED,
        rc_message: RELAXED,
        ...redis,
        ...overrides,
      },
      env: { DATABASE_URL: first.databaseUrl },
    }),
    createLogger(process.env.PALISADE_TEST_LOG ?? 'silent'),
  );
  return {
    ...homeserver,
    url: homeserver.urls[0],
    databaseUrl: first.databaseUrl,
    dataDir: first.dataDir,
    restart: () => Promise.reject(new Error('restart the first process instead')),
  };
}
