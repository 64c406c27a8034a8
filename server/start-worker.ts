import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppContext } from './app-context.ts';
import { describeConfig, type Config } from './config.ts';
import { buildAppContext, createStreams, metricsHandler } from './homeserver.ts';
import { startStreamFanout, type StreamFanout } from './sync/redis-fanout.ts';
import { defineJobs } from './jobs/job-definitions.ts';
import { connectDatabase } from './storage/connection.ts';
import { migrateToLatest } from './storage/migrate.ts';
import { createAppserviceRegistry } from './appservices/registry.ts';
import { prepareAppservices } from './appservices/setup.ts';
import { loadManagedRegistrations } from './appservices/managed.ts';
import { startRegistrySync } from './appservices/registry-sync.ts';

export interface Worker {
  app: AppContext;
  /** Where this worker serves its Prometheus metrics, if asked to. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/**
 * A worker process: no client API, only job handlers, sharing Postgres and
 * Redis with the API processes. Several may run at once; BullMQ shares the work.
 */
export async function startWorker(config: Readonly<Config>, logger: Logger, options: { metricsPort?: number } = {}): Promise<Worker> {
  if (!config.redis_url) throw new Error('a worker needs Redis (redis.enabled or REDIS_URL); without it the API process runs the jobs itself');
  if (!config.database_url) throw new Error('a worker needs a shared Postgres (database or DATABASE_URL), not the embedded one');
  logger.info(describeConfig(config), 'starting Palisade worker');
  const appservices = createAppserviceRegistry(config.app_service_config_files, config.server_name);
  const database = connectDatabase(config.database_url, { logger });
  let app: AppContext | undefined;
  let fanout: StreamFanout | undefined;
  try {
    // Migrations take an advisory lock, so a worker and API processes may start together.
    await migrateToLatest(database.db);
    app = buildAppContext(config, logger, database, { ...(await createStreams(config, database, logger)), appservices });
    // Workers write no sync stream, but follow every stream's position (and typing) as the API processes announce them.
    fanout = await startStreamFanout(config.redis_url, config.redis_key_prefix, app, logger);
    await loadManagedRegistrations(app);
    const registrySync = await startRegistrySync(app, logger);
    await prepareAppservices(app);
    await defineJobs(app);
    await app.jobs.startProcessing();
    const metrics = options.metricsPort === undefined ? undefined : await serveMetrics(app, options.metricsPort);
    const running = app;
    let stopping: Promise<void> | undefined;
    return {
      app: running,
      metricsUrl: metrics?.url,
      stop: () =>
        (stopping ??= (async () => {
          logger.info('worker shutting down: finishing jobs in flight');
          await registrySync.stop();
          await running.jobs.stop();
          await fanout?.stop();
          running.typing.stop();
          running.rateLimitStore?.client.disconnect();
          if (metrics) await new Promise((resolveClose) => metrics.server.close(resolveClose));
          await database.stop();
          logger.info('worker stopped');
        })()),
    };
  } catch (error) {
    await fanout?.stop().catch(() => undefined);
    await app?.jobs.stop().catch(() => undefined);
    app?.typing.stop();
    app?.rateLimitStore?.client.disconnect();
    await database.stop().catch(() => undefined);
    throw error;
  }
}

async function serveMetrics(app: AppContext, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer(metricsHandler(app));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
