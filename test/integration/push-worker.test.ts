import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, type ConfigFile } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startWorker } from '../../server/start-worker.ts';
import { startTestServer } from '../support/server.ts';
import { registerUser, request } from '../support/http.ts';
import { createRoom, roomPost, sendMessage } from '../support/rooms.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig, wipePrefix } from '../support/redis-config.ts';
import { startFakePushGateway } from '../support/push-gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const logger = createLogger('silent');

test('with Redis a worker evaluates and pushes; with Redis wiped while a push is pending, a restarted worker still sends it', { timeout: 120_000 }, async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const gateway = await startFakePushGateway();
  const config: ConfigFile = { ...redisConfig(redisUrl), push: { allowed_http_gateway_hosts: ['127.0.0.1'] }, ip_range_whitelist: ['127.0.0.1/32'] };
  const server = await startTestServer(config);
  const startPushWorker = async () => {
    const worker = await startWorker(loadConfig({ values: { server_name: 'localhost', data_dir: server.dataDir, ...config }, env: { DATABASE_URL: server.databaseUrl } }), logger, { metricsPort: 0 });
    await worker.app.jobs.startProcessing();
    return worker;
  };
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  t.after(async () => {
    await worker?.stop();
    await server.stop();
    await gateway.stop();
  });

  const alice = await registerUser(server.url, 'alice');
  const bob = await registerUser(server.url, 'bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const set = await request(server.url, 'POST', '/_matrix/client/v3/pushers/set', {
    token: bob.accessToken,
    body: { kind: 'http', app_id: 'org.example.app', pushkey: 'bob-key', app_display_name: 'Example', device_display_name: 'Phone', lang: 'en', data: { url: gateway.url } },
  });
  assert.equal(set.status, 200);
  const mention = async (body: string) => (await sendMessage(server, alice, roomId, { msgtype: 'm.text', body, 'm.mentions': { user_ids: [bob.userId] } })).body.event_id as string;
  const pushed = (eventId: string) => waitFor(`the push of ${eventId}`, async () => (gateway.received.some((push) => push.status === 200 && push.body.notification.event_id === eventId) ? true : undefined), 30_000);

  worker = await startPushWorker();
  await pushed(await mention('first, through the worker'));

  await worker.stop();
  worker = undefined;
  const pending = await mention('sent while no worker runs');
  // The API process announced it and queued evaluation in Redis; losing those keys must lose nothing.
  await waitFor('the announcement', async () => {
    const row = await server.app.db.selectFrom('push_progress').select('announced').executeTakeFirstOrThrow();
    return Number(row.announced) >= server.app.roomEvents.currentPosition() ? true : undefined;
  });
  assert.ok((await wipePrefix(redisUrl, config.redis_key_prefix!)) > 0, 'there were job keys to lose');
  assert.ok(!gateway.received.some((push) => push.body.notification.event_id === pending), 'nothing sent it yet');

  worker = await startPushWorker();
  await pushed(pending);
  const list = await request(server.url, 'GET', '/_matrix/client/v3/notifications', { token: bob.accessToken });
  assert.deepEqual(list.body.notifications.map((entry: any) => entry.event.content.body), ['sent while no worker runs', 'first, through the worker']);
});
