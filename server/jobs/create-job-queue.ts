import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { createBullmqQueue } from './bullmq-queue.ts';
import { createInProcessQueue } from './in-process-queue.ts';
import { createJobMetrics } from './job-metrics.ts';
import type { JobQueue } from './job-queue.ts';

/** BullMQ on Redis when Redis is configured (any number of workers share it), the in-process adapter otherwise. */
export function createJobQueue(config: Readonly<Config>, logger: Logger, metrics: Metrics): JobQueue {
  let queue: JobQueue | undefined;
  const jobMetrics = createJobMetrics(metrics.registry, () => queue);
  queue = config.redis_url
    ? createBullmqQueue(config.redis_url, `${config.redis_key_prefix}:jobs`, logger, jobMetrics)
    : createInProcessQueue(logger, jobMetrics);
  return queue;
}

/** Whether this API process also runs job handlers: always without Redis (nothing else would), by choice with it. */
export function apiProcessRunsJobs(config: Readonly<Config>): boolean {
  return config.jobs_in_api_process ?? !config.redis_url;
}
