import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { createLogger } from '../../server/logger.ts';
import { createJobMetrics } from '../../server/jobs/job-metrics.ts';
import { createInProcessQueue } from '../../server/jobs/in-process-queue.ts';
import { createBullmqQueue } from '../../server/jobs/bullmq-queue.ts';
import type { JobQueue } from '../../server/jobs/job-queue.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { waitFor } from '../support/wait-for.ts';

const logger = createLogger('silent');

type MakeQueue = (t: TestContext) => JobQueue | undefined;

const adapters: Record<string, MakeQueue> = {
  'in-process': () => createInProcessQueue(logger, createJobMetrics(new Registry(), () => undefined)),
  bullmq: (t) => {
    const url = redisUrlOrSkip(t);
    if (!url) return undefined;
    return createBullmqQueue(url, `palisade-test-${randomBytes(4).toString('hex')}`, logger, createJobMetrics(new Registry(), () => undefined));
  },
};

for (const [adapter, makeQueue] of Object.entries(adapters)) {
  describe(`job queue (${adapter})`, () => {
    test('runs a job now with its data, and one at a time later', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      const seen: Array<{ value: number; at: number }> = [];
      queue.define<{ value: number }>({ name: 'record', handle: async (data) => void seen.push({ value: data.value, at: Date.now() }) });
      await queue.startProcessing();
      await queue.enqueue('record', { value: 1 });
      const runAt = Date.now() + 300;
      await queue.enqueue('record', { value: 2 }, { runAt });
      await waitFor('both jobs', async () => (seen.length === 2 ? true : undefined));
      assert.deepEqual(seen.map((entry) => entry.value), [1, 2]);
      assert.ok(seen[1].at >= runAt - 5, 'the delayed job did not run before its time');
    });

    test('retries a failing job with backoff until it succeeds', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      const attempts: number[] = [];
      queue.define({
        name: 'flaky',
        attempts: 5,
        backoffMs: 20,
        handle: async (_data, attempt) => {
          attempts.push(attempt);
          if (attempt < 3) throw new Error(`attempt ${attempt} fails`);
        },
      });
      await queue.startProcessing();
      await queue.enqueue('flaky', {});
      await waitFor('the third attempt', async () => (attempts.length === 3 ? true : undefined));
      assert.deepEqual(attempts, [1, 2, 3]);
    });

    test('never runs more jobs of one name at once than its concurrency', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      let running = 0;
      let most = 0;
      let finished = 0;
      queue.define({
        name: 'slow',
        concurrency: 2,
        handle: async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolveWork) => setTimeout(resolveWork, 30));
          running--;
          finished++;
        },
      });
      await queue.startProcessing();
      for (let i = 0; i < 6; i++) await queue.enqueue('slow', { i });
      await waitFor('six jobs', async () => (finished === 6 ? true : undefined));
      assert.equal(most, 2);
    });

    test('a job id enqueued twice while waiting runs once', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      let runs = 0;
      queue.define({ name: 'once', handle: async () => void runs++ });
      const runAt = Date.now() + 200;
      await queue.enqueue('once', {}, { jobId: 'deliver:as1', runAt });
      await queue.enqueue('once', {}, { jobId: 'deliver:as1', runAt });
      assert.equal((await queue.depth()).once, 1, 'one job waiting');
      await queue.startProcessing();
      await waitFor('the job', async () => (runs >= 1 ? true : undefined));
      await queue.enqueue('sentinel-free', {}); // nothing defined: must not throw
      assert.equal(runs, 1);
    });

    test('a job id enqueued while it runs runs once more after it, never twice at once', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      const seen: number[] = [];
      let running = 0;
      let most = 0;
      let release: (() => void) | undefined;
      const firstStarted = new Promise<void>((started) => {
        queue.define<{ n: number }>({
          name: 'wake',
          concurrency: 4,
          handle: async (data) => {
            running++;
            most = Math.max(most, running);
            seen.push(data.n);
            if (data.n === 1) {
              started();
              await new Promise<void>((resolveRelease) => (release = resolveRelease));
            }
            running--;
          },
        });
      });
      await queue.startProcessing();
      await queue.enqueue('wake', { n: 1 }, { jobId: 'wake:as1' });
      await firstStarted;
      // Both arrive while the first runs: the newest is kept and runs once, after it.
      await queue.enqueue('wake', { n: 2 }, { jobId: 'wake:as1' });
      await queue.enqueue('wake', { n: 3 }, { jobId: 'wake:as1' });
      release!();
      await waitFor('the follow-up run', async () => (seen.length === 2 ? true : undefined));
      assert.deepEqual(seen, [1, 3]);
      assert.equal(most, 1);
    });

    test('runNow brings a delayed job forward, and a job backing off after a failure', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      const ran: string[] = [];
      let failures = 0;
      queue.define<{ what: string }>({
        name: 'later',
        backoffMs: 60_000,
        handle: async (data) => {
          if (data.what === 'flaky' && failures++ === 0) throw new Error('first attempt fails');
          ran.push(data.what);
        },
      });
      await queue.startProcessing();
      await queue.enqueue('later', { what: 'scheduled' }, { jobId: 'later:a', runAt: Date.now() + 60_000 });
      await queue.enqueue('later', { what: 'flaky' }, { jobId: 'later:b' });
      await waitFor('the first failure', async () => (failures === 1 ? true : undefined));
      await queue.runNow('later', 'later:a');
      // The retry is due in a minute; the wait below is far shorter.
      await waitFor('the job to be waiting to retry', async () => ((await queue.depth()).later === 1 ? true : undefined));
      await queue.runNow('later', 'later:b');
      await waitFor('both, well before their time', async () => (ran.length === 2 ? true : undefined), 10_000);
      assert.deepEqual(ran.sort(), ['flaky', 'scheduled']);
      await queue.runNow('later', 'later:unknown');
    });

    test('runs a job every interval, and recovers pending work at start', async (t) => {
      const queue = makeQueue(t);
      if (!queue) return;
      t.after(() => queue.stop());
      let ticks = 0;
      const recovered: string[] = [];
      queue.define({ name: 'tick', handle: async () => void ticks++ });
      queue.define<{ row: string }>({
        name: 'from-rows',
        handle: async (data) => void recovered.push(data.row),
        recover: async () => queue.enqueue('from-rows', { row: 'pending-row-1' }),
      });
      await queue.startProcessing();
      await queue.every('tick', 100, {});
      await waitFor('three ticks', async () => (ticks >= 3 ? true : undefined), 5000);
      await waitFor('the recovered job', async () => (recovered.length === 1 ? true : undefined));
      assert.deepEqual(recovered, ['pending-row-1']);
    });
  });
}

test('with BullMQ, a job enqueued by one process is run by another', async (t) => {
  const url = redisUrlOrSkip(t);
  if (!url) return;
  const prefix = `palisade-test-${randomBytes(4).toString('hex')}`;
  const api = createBullmqQueue(url, prefix, logger, createJobMetrics(new Registry(), () => undefined));
  const worker = createBullmqQueue(url, prefix, logger, createJobMetrics(new Registry(), () => undefined));
  t.after(async () => {
    await api.stop();
    await worker.stop();
  });
  const got: string[] = [];
  worker.define<{ text: string }>({ name: 'hand-over', handle: async (data) => void got.push(data.text) });
  await worker.startProcessing();
  await api.enqueue('hand-over', { text: 'from the API process' });
  await waitFor('the worker to run it', async () => (got.length === 1 ? true : undefined));
  assert.deepEqual(got, ['from the API process']);
});
