import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startWorker } from '../../server/start-worker.ts';
import { TO_DEVICE_EXPIRY_JOB } from '../../server/e2ee/expiry-job.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig } from '../support/redis-config.ts';
import { startTestServer } from '../support/server.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

const logger = createLogger('silent');

test('without Redis the API process runs jobs itself, and reports them as metrics', async (t) => {
  const server = await startTestServer({ enable_metrics: true, listeners: [
    { port: 0, bind_addresses: ['127.0.0.1'], type: 'http' },
    { port: 0, bind_addresses: ['127.0.0.1'], type: 'metrics' },
  ] });
  t.after(() => server.stop());
  const ran: string[] = [];
  server.app.jobs.define<{ text: string }>({ name: 'test.echo', handle: async (data) => void ran.push(data.text) });
  server.app.jobs.define({ name: 'test.broken', attempts: 1, handle: async () => { throw new Error('broken on purpose'); } });
  await server.app.jobs.enqueue('test.echo', { text: 'hello' });
  await server.app.jobs.enqueue('test.broken', {});
  await waitFor('the job to run', async () => (ran.length === 1 ? true : undefined));
  assert.deepEqual(ran, ['hello']);
  const metrics = await waitFor('the failure metric', async () => {
    const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    return /palisade_job_failures_total\{queue="test.broken"\} 1/.test(text) ? text : undefined;
  });
  assert.match(metrics, /palisade_jobs_completed_total\{queue="test.echo"\} 1/);
  assert.match(metrics, /palisade_job_queue_depth/);
});

test('with Redis the API process only enqueues, and a worker process runs the jobs', async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const redis = redisConfig(redisUrl);
  const defer = deferStack(t);
  const server = await startTestServer({ ...redis });
  defer(() => server.stop());
  const handled: Array<{ where: string; text: string }> = [];
  server.app.jobs.define<{ text: string }>({ name: 'test.echo', handle: async (data) => void handled.push({ where: 'api', ...data }) });
  // The scheduled to-device expiry lives in Redis, so any worker picks it up.
  await server.app.jobs.enqueue('test.echo', { text: 'for the worker' });
  assert.equal((await server.app.jobs.depth())['test.echo'], 1, 'nobody ran it in the API process');

  const worker = await startWorker(
    loadConfig({ values: { server_name: 'localhost', data_dir: server.dataDir, ...redis }, env: { DATABASE_URL: server.databaseUrl } }),
    logger,
    { metricsPort: 0 },
  );
  defer(() => worker.stop());
  worker.app.jobs.define<{ text: string }>({ name: 'test.echo', handle: async (data) => void handled.push({ where: 'worker', ...data }) });
  await worker.app.jobs.startProcessing();
  await waitFor('the worker to run it', async () => (handled.length === 1 ? true : undefined));
  assert.deepEqual(handled, [{ where: 'worker', text: 'for the worker' }]);
  // BullMQ reports completion after the handler returned and Redis recorded it: a moment after `handled` filled.
  const completed = /palisade_jobs_completed_total\{queue="test.echo"\} 1/;
  const metrics = await waitFor('the worker to count the job completed', async () => {
    const text = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
    return completed.test(text) ? text : undefined;
  });
  assert.match(metrics, completed);
  assert.ok(TO_DEVICE_EXPIRY_JOB in (await worker.app.jobs.depth()), 'the to-device expiry job is defined');
});

test('a worker refuses to start without Redis, saying why', async () => {
  const config = loadConfig({ values: { server_name: 'localhost' }, env: { DATABASE_URL: 'postgres://127.0.0.1:5432/none' } });
  await assert.rejects(startWorker(config, logger), /a worker needs Redis/);
});
