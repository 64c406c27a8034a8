import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { backoffDelay, DEFAULT_ATTEMPTS, type EnqueueOptions, type JobDefinition, type JobQueue } from './job-queue.ts';
import type { JobMetrics } from './job-metrics.ts';

/** A dead worker's jobs go back to the queue within about lock + check interval. */
const LOCK_DURATION_MS = 15_000;
const STALLED_CHECK_MS = 5_000;

/** BullMQ keeps job ids as Redis key parts; `:` separates them. */
const safeJobId = (jobId: string) => jobId.replace(/:/g, '_');

/** Redis-backed adapter: any number of processes enqueue, any number of workers process. */
export function createBullmqQueue(redisUrl: string, prefix: string, logger: Logger, metrics: JobMetrics): JobQueue {
  // BullMQ workers block on Redis; they need maxRetriesPerRequest: null.
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error (jobs)'));
  const definitions = new Map<string, JobDefinition<any>>();
  const queues = new Map<string, Queue>();
  const workers: Worker[] = [];

  const queueFor = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix });
      queues.set(name, queue);
    }
    return queue;
  };

  return {
    define(definition) {
      definitions.set(definition.name, definition);
    },
    async enqueue(name, data, options: EnqueueOptions = {}) {
      const definition = definitions.get(name);
      await queueFor(name).add(name, data, {
        // Deduplication rather than a fixed job id: a fixed id would drop a wake-up that arrives while the
        // job runs (or after it failed for good); keepLastIfActive runs it once more instead.
        deduplication: options.jobId ? { id: safeJobId(options.jobId), keepLastIfActive: true } : undefined,
        delay: options.runAt ? Math.max(0, options.runAt - Date.now()) : undefined,
        attempts: definition?.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: 'palisade' },
        removeOnComplete: true,
        removeOnFail: 1000,
      });
    },
    async runNow(name, jobId) {
      const queue = queueFor(name);
      const id = await queue.getDeduplicationJobId(safeJobId(jobId));
      const job = id ? await queue.getJob(id) : undefined;
      // Promoting fails harmlessly if the job moved on meanwhile (it is then running or done).
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
    },
    async every(name, intervalMs, data) {
      await queueFor(name).upsertJobScheduler(`every:${name}`.replace(/:/g, '_'), { every: intervalMs }, { name, data });
    },
    async startProcessing() {
      for (const definition of definitions.values()) await definition.recover?.();
      for (const definition of definitions.values()) {
        const worker = new Worker(
          definition.name,
          async (job: Job) => definition.handle(job.data, job.attemptsMade + 1),
          {
            connection,
            prefix,
            concurrency: definition.concurrency ?? 1,
            // A worker that dies (SIGKILL) holds its jobs until its lock expires: keep that short.
            lockDuration: LOCK_DURATION_MS,
            stalledInterval: STALLED_CHECK_MS,
            settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(definition, attemptsMade) },
          },
        );
        worker.on('completed', () => metrics.completed.inc({ queue: definition.name }));
        worker.on('failed', (job, error) => {
          metrics.failures.inc({ queue: definition.name });
          logger.warn({ err: error, job: definition.name, attempt: job?.attemptsMade }, 'job attempt failed');
        });
        worker.on('error', (error) => logger.warn({ err: error, job: definition.name }, 'job worker error'));
        workers.push(worker);
      }
    },
    async depth() {
      const counts: Record<string, number> = {};
      for (const name of definitions.keys()) {
        const byState = await queueFor(name).getJobCounts('waiting', 'delayed', 'prioritized');
        counts[name] = Object.values(byState).reduce((sum, count) => sum + count, 0);
      }
      return counts;
    },
    async stop() {
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
