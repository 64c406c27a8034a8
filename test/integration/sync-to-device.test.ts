import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { syncOnce } from '../support/rooms.ts';
import { waitFor } from '../support/wait-for.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { DEFAULT_TO_DEVICE_BATCH } from '../../server/e2ee/to-device.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

let txnCounter = 0;
async function sendTo(recipient: TestUser, contents: Array<Record<string, unknown>>, type = 'org.example.test') {
  for (const content of contents) {
    const sent = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/${type}/t${++txnCounter}`, {
      token: alice.accessToken,
      body: { messages: { [recipient.userId]: { [recipient.deviceId]: content } } },
    });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
  }
}

const inboxSize = async (user: TestUser) =>
  Number(
    (await server.app.db.selectFrom('to_device_messages').select((eb) => eb.fn.countAll().as('n')).where('recipient_user_id', '=', user.userId).executeTakeFirstOrThrow()).n,
  );
const received = (body: any): unknown[] => (body.to_device?.events ?? []).map((event: any) => event.content.n);

test('to-device messages arrive in /sync in order and are deleted only once a later sync acknowledges them', async () => {
  const start = await syncOnce(server, bob, { timeout: '0' });
  assert.equal(start.to_device, undefined, 'nothing waiting');
  await sendTo(bob, [{ n: 1 }, { n: 2 }, { n: 3 }]);

  const first = await syncOnce(server, bob, { since: start.next_batch, timeout: '0' });
  assert.deepEqual(received(first), [1, 2, 3]);
  assert.deepEqual(first.to_device.events[0], { sender: alice.userId, type: 'org.example.test', content: { n: 1 } });
  assert.equal(await inboxSize(bob), 3, 'delivered but not yet acknowledged');

  const again = await syncOnce(server, bob, { since: start.next_batch, timeout: '0' });
  assert.deepEqual(received(again), [1, 2, 3], 'a client that lost the response and retries with the old token gets them again');

  const acknowledged = await syncOnce(server, bob, { since: first.next_batch, timeout: '0' });
  assert.deepEqual(received(acknowledged), [], 'delivered once per token');
  assert.equal(await inboxSize(bob), 0, 'syncing with the next token acknowledged and deleted them');
});

test(`more than ${DEFAULT_TO_DEVICE_BATCH} waiting messages page over several syncs, each exactly once`, async () => {
  const carol = await registerUser(server.url, 'carol');
  const start = await syncOnce(server, carol, { timeout: '0' });
  const total = 2 * DEFAULT_TO_DEVICE_BATCH + 7;
  const messages = Object.fromEntries([[carol.userId, { [carol.deviceId]: {} }]]);
  for (let n = 0; n < total; n++) {
    messages[carol.userId][carol.deviceId] = { n };
    const sent = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/org.example.page/p${n}`, { token: alice.accessToken, body: { messages } });
    assert.equal(sent.status, 200);
  }
  const seen: unknown[] = [];
  const pageSizes: number[] = [];
  let since = start.next_batch;
  for (;;) {
    // A long timeout: a page with more waiting must answer at once, not hold the long-poll.
    const body = await syncOnce(server, carol, { since, timeout: '60000' });
    const page = received(body);
    pageSizes.push(page.length);
    seen.push(...page);
    since = body.next_batch;
    if (seen.length >= total) break;
  }
  assert.deepEqual(pageSizes, [DEFAULT_TO_DEVICE_BATCH, DEFAULT_TO_DEVICE_BATCH, 7]);
  assert.deepEqual(seen, Array.from({ length: total }, (_, n) => n), 'in order, none lost or repeated');
  await syncOnce(server, carol, { since, timeout: '0' });
  assert.equal(await inboxSize(carol), 0);
});

test('a long-poll parks despite key counts being present, and sendToDevice wakes it', async () => {
  const dave = await registerUser(server.url, 'dave');
  const device = testDevice(dave.userId, dave.deviceId);
  const uploaded = await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', {
    token: dave.accessToken,
    body: { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(5), fallback_keys: device.fallbackKey() },
  });
  assert.equal(uploaded.status, 200);
  const initial = await syncOnce(server, dave, { timeout: '0' });
  assert.deepEqual(initial.device_one_time_keys_count, { signed_curve25519: 5 });
  assert.deepEqual(initial.device_unused_fallback_key_types, ['signed_curve25519']);

  const path = `/_matrix/client/v3/sync?since=${initial.next_batch}&timeout=60000`;
  const polling = request(server.url, 'GET', path, { token: dave.accessToken });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(dave.userId) === 1 ? true : undefined));
  await sendTo(dave, [{ n: 'wake' }]);
  const woken = await polling;
  assert.equal(woken.status, 200);
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: woken.body });
  assert.deepEqual(received(woken.body), ['wake']);
  assert.deepEqual(woken.body.device_one_time_keys_count, { signed_curve25519: 5 }, 'counts are in every response');
  assert.deepEqual(woken.body.device_unused_fallback_key_types, ['signed_curve25519']);

  const empty = await syncOnce(server, dave, { since: woken.body.next_batch, timeout: '0' });
  assert.deepEqual(empty.device_one_time_keys_count, { signed_curve25519: 5 }, 'also when nothing else changed');
  assert.equal(empty.to_device, undefined);
});

test('a message for another device of the same user neither wakes nor reaches this device', async () => {
  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password, device_id: 'TABLET' },
  });
  const tablet: TestUser = { ...bob, accessToken: login.body.access_token, deviceId: 'TABLET' };
  const start = await syncOnce(server, bob, { timeout: '0' });
  const tabletStart = await syncOnce(server, tablet, { timeout: '0' });
  const polling = request(server.url, 'GET', `/_matrix/client/v3/sync?since=${start.next_batch}&timeout=60000`, { token: bob.accessToken });
  await waitFor('the phone long-poll to park', async () => (server.app.notifier.waitingFor(bob.userId) === 1 ? true : undefined));
  await sendTo(tablet, [{ n: 'for the tablet' }]);
  // The wake-up happens before sendToDevice answers, so a woken poll would no longer be waiting here.
  assert.equal(server.app.notifier.waitingFor(bob.userId), 1, 'the phone keeps waiting');
  await sendTo(bob, [{ n: 'for the phone' }]);
  const phone = await polling;
  assert.deepEqual(received(phone.body), ['for the phone']);
  const tabletSync = await syncOnce(server, tablet, { since: tabletStart.next_batch, timeout: '0' });
  assert.deepEqual(received(tabletSync), ['for the tablet']);
});

test('messages sent while the recipient is offline are delivered after a restart, exactly once', async () => {
  const erin = await registerUser(server.url, 'erin');
  const start = await syncOnce(server, erin, { timeout: '0' });
  await sendTo(erin, [{ n: 'a' }, { n: 'b' }]);
  server = await server.restart();
  const first = await syncOnce(server, erin, { since: start.next_batch, timeout: '0' });
  assert.deepEqual(received(first), ['a', 'b'], 'kept across the restart, in order');
  await sendTo(erin, [{ n: 'c' }]);
  const second = await syncOnce(server, erin, { since: first.next_batch, timeout: '0' });
  assert.deepEqual(received(second), ['c'], 'positions continue after the restart: nothing repeated');
  const third = await syncOnce(server, erin, { since: second.next_batch, timeout: '0' });
  assert.deepEqual(received(third), []);
  assert.equal(await inboxSize(erin), 0);
});
