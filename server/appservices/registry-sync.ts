import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppContext } from '../app-context.ts';
import { loadManagedRegistrations } from './managed.ts';
import { prepareAppservices } from './setup.ts';

export interface RegistrySync {
  stop(): Promise<void>;
}

/**
 * Several processes: a change made through the admin API on one is announced
 * over Redis, and every process loads the managed registrations again. Without
 * Redis there is one process and nothing to tell.
 */
export async function startRegistrySync(app: AppContext, logger: Logger): Promise<RegistrySync> {
  const redisUrl = app.config.redis_url;
  if (!redisUrl) return { stop: async () => undefined };
  const channel = `${app.config.redis_key_prefix}:appservice-registrations`;
  const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const subscriber = new Redis(redisUrl);
  for (const connection of [publisher, subscriber]) connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error (appservice registrations)'));
  await subscriber.subscribe(channel);
  // Our own notices come back too; loading again is harmless.
  subscriber.on('message', () => {
    loadManagedRegistrations(app)
      .then(() => prepareAppservices(app))
      .catch((error) => logger.error({ err: error }, 'could not load the changed appservice registrations'));
  });
  app.appservices.setAnnouncer(async () => {
    await publisher.publish(channel, 'changed').catch((error) => logger.warn({ err: error }, 'could not announce an appservice registration change'));
  });
  return {
    async stop() {
      await subscriber.quit().catch(() => subscriber.disconnect());
      await publisher.quit().catch(() => publisher.disconnect());
    },
  };
}
