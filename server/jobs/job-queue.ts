/**
 * The job port: run work now, at a time, or every interval, with retries and
 * exponential backoff, and a concurrency limit per job name. BullMQ runs it
 * when Redis is configured (many worker processes share the load); the
 * in-process adapter runs the same handlers in single-process mode.
 *
 * Jobs carry work, never the only copy of anything: each definition may have
 * `recover`, which re-derives its pending jobs from Postgres rows at start-up,
 * so losing Redis loses nothing.
 */
export interface JobDefinition<T = unknown> {
  name: string;
  handle(data: T, attempt: number): Promise<void>;
  /** Jobs of this name running at once in one process. */
  concurrency?: number;
  /** Total tries before a job is given up (and counted as failed). */
  attempts?: number;
  /** First retry delay; doubles each try up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Re-enqueue whatever Postgres says is still pending. Called once when processing starts. */
  recover?(): Promise<void>;
}

export interface EnqueueOptions {
  /**
   * While a job with this id is waiting (or waiting to retry), enqueueing it
   * again does nothing; while it runs, it runs once more after it finishes
   * (with the newest data). So a wake-up is never lost and at most one job per
   * id runs at a time, across every process.
   */
  jobId?: string;
  /** Epoch milliseconds; omitted means now. */
  runAt?: number;
}

export interface JobQueue {
  define<T>(definition: JobDefinition<T>): void;
  enqueue<T>(name: string, data: T, options?: EnqueueOptions): Promise<void>;
  /** Runs `name` every `intervalMs`; calling it again with the same name replaces the schedule. */
  every<T>(name: string, intervalMs: number, data: T): Promise<void>;
  /** If the job with this id is waiting to run later (delayed, or backing off after a failure), run it now. */
  runNow(name: string, jobId: string): Promise<void>;
  /** Starts processing the defined jobs in this process (after running their `recover`). */
  startProcessing(): Promise<void>;
  /** Jobs waiting or delayed, per name. */
  depth(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 1000;
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60 * 1000;

export function backoffDelay(definition: JobDefinition<never>, attempt: number): number {
  const base = definition.backoffMs ?? DEFAULT_BACKOFF_MS;
  return Math.min(base * 2 ** Math.max(0, attempt - 1), definition.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
}
