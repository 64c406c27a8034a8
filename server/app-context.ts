import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './storage/database.ts';
import type { Metrics } from './metrics.ts';
import type { SigningKey } from './rooms/signing.ts';
import type { RateLimiter } from './http/rate-limit.ts';
import type { Notifier } from './sync/notifier.ts';
import type { RoomEventStream } from './sync/stream-writer.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import type { AppserviceRegistry } from './appservices/registry.ts';

/** Everything a request or job needs, built once in main.ts and passed explicitly. No globals. */
export interface AppContext {
  config: Readonly<Config>;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  signingKey: SigningKey;
  /** Wakes long-polling /sync requests once what they wait for is visible. */
  notifier: Notifier;
  /** Positions of the room-event stream: allocated by writers, bounded for readers. */
  roomEvents: RoomEventStream;
  /** Secret for Synapse-style shared-secret registration (configured, or generated in the data dir). */
  registrationSharedSecret: string;
  rateLimits: {
    loginAddress: RateLimiter;
    loginAccount: RateLimiter;
    loginFailures: RateLimiter;
    registration: RateLimiter;
    message: RateLimiter;
  };
  /** The job port: API processes enqueue; workers (and a single-process server) run the handlers. */
  jobs: JobQueue;
  /** Appservice registrations (from `app_service_config_files`), reloadable. */
  appservices: AppserviceRegistry;
}
