import type { Logger } from 'pino';
import { backoffDelay, DEFAULT_ATTEMPTS, type EnqueueOptions, type JobDefinition, type JobQueue } from './job-queue.ts';
import type { JobMetrics } from './job-metrics.ts';

interface PendingJob {
  name: string;
  data: unknown;
  jobId?: string;
  attempt: number;
  runAt: number;
}

/** Single-process adapter: timers and in-memory lists; pending work is re-derived by `recover` after a restart. */
export function createInProcessQueue(logger: Logger, metrics: JobMetrics): JobQueue {
  const definitions = new Map<string, JobDefinition<any>>();
  const waiting = new Map<string, PendingJob[]>();
  const running = new Map<string, number>();
  const delayed = new Map<string, number>();
  /** Ids of jobs waiting or waiting to retry: enqueueing one of these does nothing. */
  const jobIds = new Set<string>();
  /** Ids of jobs running now, with what to run once more after them (enqueued while they ran). */
  const runningIds = new Map<string, { data: unknown } | undefined>();
  const timers = new Set<NodeJS.Timeout>();
  /** Delayed jobs that have an id, so `runNow` can bring them forward. */
  const delayedById = new Map<string, { timer: NodeJS.Timeout; job: PendingJob }>();
  const intervals = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let processing = false;
  let stopped = false;

  const schedule = (job: PendingJob) => {
    const delay = Math.max(0, job.runAt - Date.now());
    if (delay === 0) {
      const list = waiting.get(job.name) ?? [];
      list.push(job);
      waiting.set(job.name, list);
      pump(job.name);
      return;
    }
    delayed.set(job.name, (delayed.get(job.name) ?? 0) + 1);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (job.jobId) delayedById.delete(job.jobId);
      delayed.set(job.name, (delayed.get(job.name) ?? 1) - 1);
      schedule({ ...job, runAt: 0 });
    }, delay);
    timers.add(timer);
    if (job.jobId) delayedById.set(job.jobId, { timer, job });
  };

  const pump = (name: string) => {
    if (!processing || stopped) return;
    const definition = definitions.get(name);
    const list = waiting.get(name);
    if (!definition || !list) return;
    while (list.length > 0 && (running.get(name) ?? 0) < (definition.concurrency ?? 1)) {
      const job = list.shift()!;
      running.set(name, (running.get(name) ?? 0) + 1);
      const run = runJob(definition, job).finally(() => {
        inFlight.delete(run);
        running.set(name, (running.get(name) ?? 1) - 1);
        pump(name);
      });
      inFlight.add(run);
    }
  };

  const runJob = async (definition: JobDefinition<any>, job: PendingJob) => {
    if (job.jobId) {
      jobIds.delete(job.jobId);
      if (!runningIds.has(job.jobId)) runningIds.set(job.jobId, undefined);
    }
    try {
      await definition.handle(job.data, job.attempt);
      metrics.completed.inc({ queue: job.name });
      finish(job);
    } catch (error) {
      metrics.failures.inc({ queue: job.name });
      if (job.attempt >= (definition.attempts ?? DEFAULT_ATTEMPTS) || stopped) {
        logger.error({ err: error, job: job.name, attempt: job.attempt }, 'job failed for good');
        finish(job);
        return;
      }
      const delay = backoffDelay(definition, job.attempt);
      logger.warn({ err: error, job: job.name, attempt: job.attempt, retry_in_ms: delay }, 'job failed; will retry');
      // Waiting to retry counts as waiting: new enqueues of its id do nothing meanwhile.
      if (job.jobId) jobIds.add(job.jobId);
      schedule({ ...job, attempt: job.attempt + 1, runAt: Date.now() + delay });
    }
  };

  /** The job is done for good: if its id was enqueued while it ran, run it once more. */
  const finish = (job: PendingJob) => {
    if (!job.jobId) return;
    const again = runningIds.get(job.jobId);
    runningIds.delete(job.jobId);
    if (again && !stopped) {
      jobIds.add(job.jobId);
      schedule({ name: job.name, data: again.data, jobId: job.jobId, attempt: 1, runAt: 0 });
    }
  };

  return {
    define(definition) {
      definitions.set(definition.name, definition);
    },
    async enqueue(name, data, options: EnqueueOptions = {}) {
      if (stopped) return;
      if (options.jobId) {
        if (jobIds.has(options.jobId)) return;
        if (runningIds.has(options.jobId)) {
          runningIds.set(options.jobId, { data });
          return;
        }
        jobIds.add(options.jobId);
      }
      schedule({ name, data, jobId: options.jobId, attempt: 1, runAt: options.runAt ?? 0 });
    },
    async runNow(name, jobId) {
      const entry = delayedById.get(jobId);
      if (!entry || entry.job.name !== name || stopped) return;
      clearTimeout(entry.timer);
      timers.delete(entry.timer);
      delayedById.delete(jobId);
      delayed.set(name, (delayed.get(name) ?? 1) - 1);
      schedule({ ...entry.job, runAt: 0 });
    },
    async every(name, intervalMs, data) {
      clearInterval(intervals.get(name));
      intervals.set(name, setInterval(() => void this.enqueue(name, data, { jobId: `every:${name}` }), intervalMs));
    },
    async startProcessing() {
      processing = true;
      for (const definition of definitions.values()) await definition.recover?.();
      for (const name of definitions.keys()) pump(name);
    },
    async depth() {
      const counts: Record<string, number> = {};
      for (const [name, list] of waiting) counts[name] = list.length;
      for (const [name, count] of delayed) counts[name] = (counts[name] ?? 0) + count;
      return counts;
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      for (const interval of intervals.values()) clearInterval(interval);
      await Promise.allSettled([...inFlight]);
    },
  };
}
