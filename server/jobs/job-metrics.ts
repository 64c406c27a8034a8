import { Counter, Gauge, type Registry } from 'prom-client';
import type { JobQueue } from './job-queue.ts';

export interface JobMetrics {
  completed: Counter<'queue'>;
  failures: Counter<'queue'>;
}

/** Job outcomes as counters, and queue depth read from the queue whenever Prometheus scrapes. */
export function createJobMetrics(registry: Registry, depth: () => JobQueue | undefined): JobMetrics {
  new Gauge({
    name: 'palisade_job_queue_depth',
    help: 'Jobs waiting or delayed, per queue',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const queue = depth();
      if (!queue) return;
      this.reset();
      for (const [name, count] of Object.entries(await queue.depth())) this.set({ queue: name }, count);
    },
  });
  return {
    completed: new Counter({ name: 'palisade_jobs_completed_total', help: 'Jobs that succeeded', labelNames: ['queue'], registers: [registry] }),
    failures: new Counter({ name: 'palisade_job_failures_total', help: 'Job attempts that failed', labelNames: ['queue'], registers: [registry] }),
  };
}
