import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppContext } from './app-context.ts';
import { describeConfig, type Config } from './config.ts';
import { createApp } from './http/app.ts';
import { Redis } from 'ioredis';
import { createRateLimiter, type SharedRateLimitStore } from './http/rate-limit.ts';
import { createMetrics } from './metrics.ts';
import { loadOrCreateSigningKey } from './signing-key.ts';
import { connectDatabase, readOrCreateSecret, startEmbeddedDatabase, type DatabaseHandle } from './storage/connection.ts';
import { migrateToLatest } from './storage/migrate.ts';
import { createNotifier } from './sync/notifier.ts';
import { createRoomEventStream } from './sync/stream-writer.ts';
import { createKeyedBatcher } from './rooms/append-batcher.ts';
import { appendDrafts, MAX_APPEND_BATCH } from './rooms/persist-event.ts';
import { createE2eeStreams } from './e2ee/e2ee-streams.ts';
import { createUserDataStreams, type UserDataStreams } from './sync/user-data-streams.ts';
import { startPresenceSweep } from './accounts/presence.ts';
import { apiProcessRunsJobs, createJobQueue } from './jobs/create-job-queue.ts';
import { defineJobs } from './jobs/job-definitions.ts';
import { createAppserviceRegistry } from './appservices/registry.ts';
import { prepareAppservices } from './appservices/setup.ts';
import { followRoomEventsForAppservices } from './appservices/announce.ts';
import { followEphemeralStreamsForAppservices } from './appservices/ephemeral-wake.ts';
import { startStreamFanout, type StreamFanout } from './sync/redis-fanout.ts';
import { loadManagedRegistrations } from './appservices/managed.ts';
import { startRegistrySync, type RegistrySync } from './appservices/registry-sync.ts';
import { followRoomEventsForPush } from './push/evaluate-job.ts';

/** Longest a request (headers and body) may take: a media upload of max_upload_size over a slow link. */
const REQUEST_TIMEOUT_MS = 60 * 60 * 1000;
/** Typing and receipts per user: far above what a person typing and reading sends, low enough to stop a wake-up storm. */
const EPHEMERAL_RATE_LIMIT = { per_second: 10, burst_count: 50 };

/** How long in-flight requests get to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface Homeserver {
  app: AppContext;
  /** Base URL of each HTTP listener, in config order (the first is the client API). */
  urls: string[];
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/** Starts everything one process serves: database (and migrations), HTTP listeners, metrics. */
export async function startHomeserver(config: Readonly<Config>, logger: Logger): Promise<Homeserver> {
  logger.info(describeConfig(config), 'starting Palisade');
  // Before the database: a bad registration file stops start-up at once, naming the file.
  const appservices = createAppserviceRegistry(config.app_service_config_files, config.server_name);
  const database: DatabaseHandle = config.database_url
    ? connectDatabase(config.database_url, { logger })
    : await startEmbeddedDatabase(config.data_dir, logger);
  let jobs: AppContext['jobs'] | undefined;
  let fanout: StreamFanout | undefined;
  let registrySync: RegistrySync | undefined;
  let typing: AppContext['typing'] | undefined;
  let rateLimitStore: AppContext['rateLimitStore'];
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');
    const app = buildAppContext(config, logger, database, { ...(await createStreams(config, database, logger)), appservices });
    jobs = app.jobs;
    typing = app.typing;
    rateLimitStore = app.rateLimitStore;
    // Several API processes share Redis: each wakes the others' long-polls and advances their streams.
    fanout = config.redis_url ? await startStreamFanout(config.redis_url, config.redis_key_prefix, app, logger) : undefined;
    await loadManagedRegistrations(app);
    registrySync = await startRegistrySync(app, logger);
    await prepareAppservices(app);
    followRoomEventsForAppservices(app);
    followEphemeralStreamsForAppservices(app);
    followRoomEventsForPush(app);
    await defineJobs(app);
    if (apiProcessRunsJobs(config)) await app.jobs.startProcessing();
    return await listen(app, database, fanout, registrySync);
  } catch (error) {
    await registrySync?.stop().catch(() => undefined);
    await fanout?.stop().catch(() => undefined);
    typing?.stop();
    rateLimitStore?.client.disconnect();
    await jobs?.stop().catch(() => undefined);
    await database.stop().catch(() => undefined);
    throw error;
  }
}

/** The notifier and every sync stream's writer side, positioned at what the database holds. */
export async function createStreams(config: Readonly<Config>, database: DatabaseHandle, logger: Logger): Promise<Pick<AppContext, 'notifier' | 'roomEvents' | 'e2eeStreams'> & UserDataStreams> {
  const notifier = createNotifier();
  const redis = config.redis_url ? { url: config.redis_url, prefix: config.redis_key_prefix } : undefined;
  return {
    notifier,
    // With Redis there may be several API processes: their stream writers commit in position order (see redis-fanout.ts).
    roomEvents: await createRoomEventStream(database.db, notifier, { serialiseWriters: Boolean(config.redis_url) }),
    e2eeStreams: await createE2eeStreams(database.db),
    ...(await createUserDataStreams(database.db, notifier, logger, redis)),
  };
}

export function buildAppContext(
  config: Readonly<Config>,
  logger: Logger,
  database: DatabaseHandle,
  streams: Pick<AppContext, 'notifier' | 'roomEvents' | 'e2eeStreams' | 'appservices'> & UserDataStreams,
): AppContext {
  const metrics = createMetrics();
  const rateLimitStore = sharedRateLimitStore(config, logger);
  const app: AppContext = {
    config,
    db: database.db,
    logger,
    metrics,
    jobs: createJobQueue(config, logger, metrics),
    signingKey: loadOrCreateSigningKey(config.signing_key_path),
    ...streams,
    registrationSharedSecret:
      config.registration_shared_secret ??
      readOrCreateSecret(config.registration_shared_secret_path ?? resolve(config.data_dir, 'registration_shared_secret')),
    rateLimits: {
      loginAddress: createRateLimiter(config.rc_login.address, 'login-address', rateLimitStore),
      loginAccount: createRateLimiter(config.rc_login.account, 'login-account', rateLimitStore),
      loginFailures: createRateLimiter(config.rc_login.failed_attempts, 'login-failures', rateLimitStore),
      registration: createRateLimiter(config.rc_registration, 'registration', rateLimitStore),
      message: createRateLimiter(config.rc_message, 'message', rateLimitStore),
      ephemeral: createRateLimiter(EPHEMERAL_RATE_LIMIT, 'ephemeral', rateLimitStore),
    },
    rateLimitStore,
    roomAppends: createKeyedBatcher(MAX_APPEND_BATCH, (roomId, drafts) => appendDrafts(app, roomId, drafts)),
  };
  return app;
}

/** With Redis, rate limits are shared by every process (one command connection for all limiters). */
function sharedRateLimitStore(config: Readonly<Config>, logger: Logger): SharedRateLimitStore | undefined {
  if (!config.redis_url) return undefined;
  // One retry: a limiter that cannot reach Redis falls back to its in-memory window rather than stall the request.
  const client = new Redis(config.redis_url, { maxRetriesPerRequest: 1 });
  client.on('error', (error) => logger.warn({ err: error }, 'redis connection error (rate limits)'));
  return { client, prefix: config.redis_key_prefix };
}

async function listen(
  app: AppContext,
  database: DatabaseHandle,
  fanout: StreamFanout | undefined,
  registrySync: RegistrySync | undefined,
): Promise<Homeserver> {
  const servers: Server[] = [];
  const urls: string[] = [];
  let metricsUrl: string | undefined;
  for (const listener of app.config.listeners) {
    const handler =
      listener.type === 'metrics'
        ? metricsHandler(app)
        : createApp(app, { trustProxy: listener.x_forwarded }).callback();
    for (const address of listener.bind_addresses) {
      // Idle keep-alive connections outlive a load balancer's usual 60 s idle timeout, so the proxy
      // (or a client reusing a pooled socket) never writes into a socket we are closing. Node cuts a
      // request off after 5 minutes by default, too short for a large upload on a slow link; headers
      // still have to arrive within headersTimeout (60 s).
      const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, handler);
      await new Promise<void>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(listener.port, address, () => resolveListen());
      });
      servers.push(server);
      const { port } = server.address() as AddressInfo;
      const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
      if (listener.type === 'metrics') metricsUrl ??= url;
      else urls.push(url);
      app.logger.info({ url, type: listener.type }, 'listening');
    }
  }

  const stopPresenceSweep = startPresenceSweep(app);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      app.logger.info('shutting down: no new connections, finishing requests in flight');
      // Long-polling /sync requests answer now instead of holding shutdown for their timeout.
      app.notifier.stop();
      app.typing.stop();
      stopPresenceSweep();
      await Promise.all(servers.map((server) => closeServer(server)));
      // After the listeners: requests finishing may still enqueue and announce.
      await fanout?.stop();
      app.rateLimitStore?.client.disconnect();
      await registrySync?.stop();
      await app.jobs.stop();
      await database.stop();
      app.logger.info('stopped');
    })());
  return { app, urls, metricsUrl, stop };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolveClose();
    });
    server.closeIdleConnections();
  });
}

export function metricsHandler(app: AppContext) {
  return async (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => {
    if (request.url?.split('?')[0] !== '/_synapse/metrics' && request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': app.metrics.registry.contentType });
    response.end(await app.metrics.registry.metrics());
  };
}
