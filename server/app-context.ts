import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './storage/database.ts';
import type { Metrics } from './metrics.ts';
import type { SigningKey } from './rooms/signing.ts';
import type { RateLimiter, SharedRateLimitStore } from './http/rate-limit.ts';
import type { Notifier } from './sync/notifier.ts';
import type { RoomEventStream } from './sync/stream-writer.ts';
import type { KeyedBatcher } from './rooms/append-batcher.ts';
import type { EventDraft } from './rooms/persist-event.ts';
import type { PersistentEvent } from './rooms/event.ts';
import type { E2eeStreams } from './e2ee/e2ee-streams.ts';
import type { UserDataStreams } from './sync/user-data-streams.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import type { AppserviceRegistry } from './appservices/registry.ts';

/** Everything a request or job needs, built once in main.ts and passed explicitly. No globals. */
export interface AppContext extends UserDataStreams {
  config: Readonly<Config>;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  signingKey: SigningKey;
  /** Wakes long-polling /sync requests once what they wait for is visible. */
  notifier: Notifier;
  /** Positions of the room-event stream: allocated by writers, bounded for readers. */
  roomEvents: RoomEventStream;
  /** Per-room queue of sends: one transaction at a time per room, with what queued behind it. */
  roomAppends: KeyedBatcher<EventDraft, PersistentEvent>;
  /** Positions of the to-device and device-list streams, advanced by their writers after commit. */
  e2eeStreams: E2eeStreams;
  /** Secret for Synapse-style shared-secret registration (configured, or generated in the data dir). */
  registrationSharedSecret: string;
  rateLimits: {
    loginAddress: RateLimiter;
    loginAccount: RateLimiter;
    loginFailures: RateLimiter;
    registration: RateLimiter;
    message: RateLimiter;
    /** Typing notifications and receipts per user: each wakes every member's sync. */
    ephemeral: RateLimiter;
  };
  /** With Redis: where rate limiters keep windows every process shares (its connection is closed at shutdown). */
  rateLimitStore?: SharedRateLimitStore;
  /** The job port: API processes enqueue; workers (and a single-process server) run the handlers. */
  jobs: JobQueue;
  /** Appservice registrations (from `app_service_config_files`), reloadable. */
  appservices: AppserviceRegistry;
}
