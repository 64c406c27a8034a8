import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startWorker } from '../../server/start-worker.ts';
import { TO_DEVICE_EXPIRY_JOB } from '../../server/e2ee/expiry-job.ts';
import { startTestServer } from '../support/server.ts';
import { registerUser, request } from '../support/http.ts';
import { createRoom, say } from '../support/rooms.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig, wipePrefix } from '../support/redis-config.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles } from '../support/appservice.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

test('Redis wiped while deliveries are pending: after a worker restart everything is delivered and scheduled again', { timeout: 120_000 }, async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const redis = redisConfig(redisUrl);
  const registration = makeRegistration('wiped');
  const fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  const files = writeRegistrationFiles([registration]);
  const defer = deferStack(t);
  defer(() => fake.close());
  const server = await startTestServer({ app_service_config_files: files, ...redis });
  defer(() => server.stop());
  const workerConfig = loadConfig({ values: { server_name: 'localhost', data_dir: server.dataDir, app_service_config_files: files, ...redis }, env: { DATABASE_URL: server.databaseUrl } });
  const logger = createLogger('silent');
  const first = await startWorker(workerConfig, logger);
  defer(() => first.stop());

  const alice = await registerUser(server.url, 'alice');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  fake.down = true;
  await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, { token: registration.as_token, body: {} });
  const sent = ['before the wipe 1', 'before the wipe 2'];
  for (const body of sent) await say(server, alice, roomId, body);
  await waitFor('a refused attempt', async () => (fake.transactions.length >= 1 ? true : undefined), 20_000);
  await first.stop();

  assert.ok((await wipePrefix(redisUrl, redis.redis_key_prefix!)) > 0, 'there were job keys to lose');
  fake.down = false;
  const second = await startWorker(workerConfig, logger);
  defer(() => second.stop());

  await waitFor('the pending delivery', async () => {
    const bodies = fake.accepted().flatMap((transaction) => transaction.body.events).filter((event: any) => event.type === 'm.room.message').map((event: any) => event.content.body);
    return bodies.length >= sent.length ? bodies : undefined;
  }, 20_000).then((bodies) => assert.deepEqual(bodies, sent));
  // The periodic jobs are scheduled again too.
  const client = new Redis(redisUrl);
  try {
    const schedulers = await client.keys(`${redis.redis_key_prefix}:jobs:${TO_DEVICE_EXPIRY_JOB}:*`);
    assert.ok(schedulers.length > 0, 'the to-device expiry job is scheduled again');
  } finally {
    client.disconnect();
  }
});
