import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startWorker } from '../../server/start-worker.ts';
import { MAX_EVENTS_PER_TRANSACTION } from '../../server/appservices/transactions.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, say } from '../support/rooms.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig } from '../support/redis-config.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice, type TestRegistration } from '../support/appservice.ts';
import { waitFor } from '../support/wait-for.ts';
import { assertEventMatchesSpec } from '../support/spec-schema.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { deferStack } from '../support/cleanup.ts';

interface Setup {
  server: TestServer;
  fake: FakeAppservice;
  registration: TestRegistration;
  alice: TestUser;
}

/** A server with one appservice pointed at a fake; with `bullmq`, jobs run in a separate worker over Redis. */
type StartSetup = (t: TestContext) => Promise<Setup | undefined>;

const logger = createLogger('silent');

const setups: Record<string, StartSetup> = {
  'in-process queue': async (t) => start(t, {}),
  'BullMQ on Redis, with a worker': async (t) => {
    const url = redisUrlOrSkip(t);
    if (!url) return undefined;
    return start(t, redisConfig(url));
  },
};

async function start(t: TestContext, redis: ReturnType<typeof redisConfig> | Record<string, never>): Promise<Setup> {
  const registration = makeRegistration('bridge', {
    namespaces: { users: [{ regex: '@bridge_.*:localhost', exclusive: true }], aliases: [{ regex: '#bridge_.*:localhost', exclusive: false }], rooms: [] },
    receive_ephemeral: true,
  });
  const fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  const files = writeRegistrationFiles([registration]);
  const defer = deferStack(t);
  defer(() => fake.close());
  const server = await startTestServer({ app_service_config_files: files, ...redis });
  defer(() => server.stop());
  if ('redis' in redis) {
    const worker = await startWorker(
      loadConfig({ values: { server_name: 'localhost', data_dir: server.dataDir, app_service_config_files: files, ...redis }, env: { DATABASE_URL: server.databaseUrl } }),
      logger,
    );
    // Stopped before the server, while the database still exists.
    defer(() => worker.stop());
  }
  const alice = await registerUser(server.url, 'alice');
  return { server, fake, registration, alice };
}

const joinAsBot = async (setup: Setup, roomId: string) => {
  const joined = await request(setup.server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, { token: setup.registration.as_token, body: {} });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
};

const deliveredEvents = (fake: FakeAppservice) => fake.accepted().flatMap((transaction) => transaction.body.events as any[]);
const deliveredMessages = (fake: FakeAppservice) => deliveredEvents(fake).filter((event) => event.type === 'm.room.message').map((event) => event.content.body);

for (const [name, startSetup] of Object.entries(setups)) {
  describe(`appservice transaction delivery (${name})`, () => {
    test('delivers what concerns the appservice, in order, with its hs_token, and nothing else', async (t) => {
      const setup = await startSetup(t);
      if (!setup) return;
      const { server, fake, alice } = setup;
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      const unrelated = await createRoom(server, alice, { preset: 'public_chat' });
      await say(server, alice, unrelated, 'nobody from the bridge is here');
      await joinAsBot(setup, roomId);
      for (const body of ['one', 'two', 'three']) await say(server, alice, roomId, body);
      // A room with an alias in the appservice's alias namespace concerns it, though none of its users is there.
      const aliased = await createRoom(server, alice, { preset: 'public_chat', room_alias_name: 'bridge_lobby' });
      await say(server, alice, aliased, 'in the aliased room');
      // An invite whose target is in its users namespace, in a room none of its users is in.
      const dm = await createRoom(server, alice, { preset: 'private_chat' });
      const ghost = await request(server.url, 'POST', '/_matrix/client/v3/register', { token: setup.registration.as_token, body: { type: 'm.login.application_service', username: 'bridge_invitee', inhibit_login: true } });
      assert.equal(ghost.status, 200);
      assert.equal((await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/invite`, { token: alice.accessToken, body: { user_id: '@bridge_invitee:localhost' } })).status, 200);

      await waitFor('the messages and the invite', async () =>
        deliveredMessages(fake).length >= 4 && deliveredEvents(fake).some((event) => event.room_id === dm) ? true : undefined,
      );
      const dmEvents = deliveredEvents(fake).filter((event) => event.room_id === dm);
      assert.deepEqual(dmEvents.map((event) => [event.type, event.state_key, event.content.membership]), [['m.room.member', '@bridge_invitee:localhost', 'invite']]);
      assert.deepEqual(deliveredMessages(fake), ['one', 'two', 'three', 'in the aliased room']);
      const events = deliveredEvents(fake);
      assert.ok(events.some((event) => event.type === 'm.room.member' && event.state_key === '@bridge_bot:localhost' && event.room_id === roomId));
      assert.ok(!events.some((event) => event.room_id === unrelated), 'nothing from a room that does not concern it');
      for (const event of events) await assertEventMatchesSpec(event);
      assert.equal(fake.unauthorised, 0);
      const txnIds = fake.accepted().map((transaction) => Number(transaction.txnId));
      assert.deepEqual(txnIds, [...txnIds].sort((a, b) => a - b), 'txnIds increase');
      assert.equal(new Set(txnIds).size, txnIds.length, 'each accepted transaction has its own txnId');
    });

    test('to-device messages for its users arrive under both the stable and the MSC2409 names (receive_ephemeral)', async (t) => {
      const setup = await startSetup(t);
      if (!setup) return;
      const { server, fake, alice, registration } = setup;
      const ghost = await request(server.url, 'POST', '/_matrix/client/v3/register', {
        token: registration.as_token,
        body: { type: 'm.login.application_service', username: 'bridge_crypto', device_id: 'GHOSTDEV' },
      });
      assert.equal(ghost.status, 200, JSON.stringify(ghost.body));
      const bob = await registerUser(server.url, 'bob');
      const sent = await request(server.url, 'PUT', '/_matrix/client/v3/sendToDevice/m.room_key_request/td1', {
        token: alice.accessToken,
        body: { messages: { '@bridge_crypto:localhost': { GHOSTDEV: { action: 'request', n: 1 } }, [bob.userId]: { [bob.deviceId]: { action: 'request', n: 2 } } } },
      });
      assert.equal(sent.status, 200);
      const received = await waitFor('the to-device message', async () => fake.accepted().find((transaction) => transaction.body.to_device));
      const expected = [{ type: 'm.room_key_request', sender: alice.userId, content: { action: 'request', n: 1 }, to_user_id: '@bridge_crypto:localhost', to_device_id: 'GHOSTDEV' }];
      assert.deepEqual(received.body.to_device, expected, 'only the message for its user');
      assert.deepEqual(received.body['de.sorunome.msc2409.to_device'], expected);
    });

    test('a refused transaction is retried with the same txnId and the same events', async (t) => {
      const setup = await startSetup(t);
      if (!setup) return;
      const { server, fake, alice } = setup;
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      fake.failNext.push(500);
      await joinAsBot(setup, roomId);
      await waitFor('the retry to be accepted', async () => (fake.accepted().length >= 1 ? true : undefined), 20_000);
      const [refused, retried] = fake.transactions;
      assert.equal(refused.answered, 500);
      assert.equal(retried.answered, 200);
      assert.equal(retried.txnId, refused.txnId);
      assert.deepEqual(retried.body, refused.body);
      // The row goes once the 200 has reached the homeserver, just after the fake answered.
      await waitFor('the acknowledged transaction to be forgotten', async () =>
        (await server.app.db.selectFrom('appservice_transactions').selectAll().execute()).length === 0 ? true : undefined,
      );
    });

    test('while the appservice is down events wait in order; then arrive in batches of at most 100', async (t) => {
      const setup = await startSetup(t);
      if (!setup) return;
      const { server, fake, alice } = setup;
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await joinAsBot(setup, roomId);
      await waitFor('the join', async () => (fake.accepted().length >= 1 ? true : undefined));
      fake.down = true;
      const sent: string[] = [];
      for (let n = 0; n < 250; n++) {
        sent.push(`m${n}`);
        await say(server, alice, roomId, `m${n}`);
      }
      await waitFor('two refused attempts', async () => (fake.transactions.filter((transaction) => transaction.answered !== 200).length >= 2 ? true : undefined), 20_000);
      fake.down = false;
      // Back, it pings: delivery stops waiting out its backoff.
      const ping = await request(server.url, 'POST', '/_matrix/client/v1/appservice/bridge/ping', { token: setup.registration.as_token, body: {} });
      assert.equal(ping.status, 200, JSON.stringify(ping.body));
      await waitFor('every message', async () => (deliveredMessages(fake).length >= sent.length ? true : undefined), 30_000);
      assert.deepEqual(deliveredMessages(fake), sent, 'all of them, once each, in order');
      for (const transaction of fake.transactions) assert.ok(transaction.body.events.length <= MAX_EVENTS_PER_TRANSACTION);
      // Every attempt at one txnId carried the same events.
      const byTxn = new Map<string, unknown>();
      for (const transaction of fake.transactions) {
        if (byTxn.has(transaction.txnId)) assert.deepEqual(transaction.body, byTxn.get(transaction.txnId), `txn ${transaction.txnId} resent unchanged`);
        else byTxn.set(transaction.txnId, transaction.body);
      }
      assert.ok(fake.accepted().length >= 3, 'the backlog took several transactions');
    });
  });
}

test('each appservice has its own queue: one that is down does not hold back another', async (t) => {
  const down = makeRegistration('downed');
  const up = makeRegistration('healthy');
  const downFake = await startFakeAppservice(down.hs_token);
  const upFake = await startFakeAppservice(up.hs_token);
  down.url = downFake.url;
  up.url = upFake.url;
  downFake.down = true;
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([down, up]) });
  t.after(async () => {
    await server.stop();
    await downFake.close();
    await upFake.close();
  });
  const alice = await registerUser(server.url, 'alice');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  for (const registration of [down, up]) {
    const joined = await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, { token: registration.as_token, body: {} });
    assert.equal(joined.status, 200);
  }
  for (const body of ['a', 'b', 'c']) await say(server, alice, roomId, body);
  await waitFor('the healthy appservice', async () => (deliveredMessages(upFake).length === 3 ? true : undefined));
  assert.deepEqual(deliveredMessages(upFake), ['a', 'b', 'c']);
  assert.equal(downFake.accepted().length, 0);
  assert.ok(downFake.transactions.length >= 1, 'the other was tried, and refused');
  const pendingIds = async () => (await server.app.db.selectFrom('appservice_transactions').select('appservice_id').execute()).map((row) => row.appservice_id);
  // The healthy one's row goes once its 200 has reached the homeserver.
  await waitFor('only the down appservice to have a transaction waiting', async () => ((await pendingIds()).join() === 'downed' ? true : undefined));
});

test('MSC3202: transactions carry one-time key counts and unused fallback key types of its users’ devices', async (t) => {
  const registration = makeRegistration('crypto', { 'org.matrix.msc3202': true });
  const fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  t.after(async () => {
    await server.stop();
    await fake.close();
  });
  const alice = await registerUser(server.url, 'alice');
  const as = (method: string, path: string, body?: unknown) => request(server.url, method, path, { token: registration.as_token, body });
  assert.equal((await as('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'crypto_bot1', device_id: 'BOTDEV' })).status, 200);
  const device = testDevice('@crypto_bot1:localhost', 'BOTDEV');
  const acting = `user_id=${encodeURIComponent('@crypto_bot1:localhost')}&device_id=BOTDEV`;
  const uploaded = await as('POST', `/_matrix/client/v3/keys/upload?${acting}`, {
    device_keys: device.deviceKeys,
    one_time_keys: device.oneTimeKeys(3),
    fallback_keys: device.fallbackKey(),
  });
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  assert.equal((await as('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join?user_id=${encodeURIComponent('@crypto_bot1:localhost')}`, {})).status, 200);
  await say(server, alice, roomId, 'hello bot');

  const withCounts = await waitFor('a transaction mentioning the bot', async () =>
    fake.accepted().find((transaction) => transaction.body['org.matrix.msc3202.device_one_time_keys_count']?.['@crypto_bot1:localhost']),
  );
  assert.deepEqual(withCounts.body['org.matrix.msc3202.device_one_time_keys_count']['@crypto_bot1:localhost'], { BOTDEV: { signed_curve25519: 3 } });
  assert.deepEqual(withCounts.body['org.matrix.msc3202.device_one_time_key_counts'], withCounts.body['org.matrix.msc3202.device_one_time_keys_count']);
  assert.deepEqual(withCounts.body['org.matrix.msc3202.device_unused_fallback_key_types']['@crypto_bot1:localhost'], { BOTDEV: ['signed_curve25519'] });
});
