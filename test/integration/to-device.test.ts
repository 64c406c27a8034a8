import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { Registry } from 'prom-client';
import { createLogger } from '../../server/logger.ts';
import { createJobMetrics } from '../../server/jobs/job-metrics.ts';
import { createInProcessQueue } from '../../server/jobs/in-process-queue.ts';
import { scheduleToDeviceExpiry, TO_DEVICE_EXPIRY_JOB } from '../../server/e2ee/expiry-job.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  currentToDevicePosition,
  deleteAcknowledgedToDeviceMessages,
  deleteExpiredToDeviceMessages,
  takeToDeviceMessages,
} from '../../server/e2ee/to-device.ts';

const LIFETIME_MS = 60 * 60 * 1000;
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let bobLaptop: string;

before(async () => {
  server = await startTestServer({ to_device_message_lifetime: '1h' });
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password, device_id: 'LAPTOP' },
  });
  bobLaptop = login.body.device_id;
});
after(() => server.stop());

let txnCounter = 0;
const send = (type: string, messages: unknown, txnId = `txn${++txnCounter}`, user = alice) =>
  request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/${type}/${txnId}`, { token: user.accessToken, body: { messages } });
const inbox = (deviceId: string, from = 0) => takeToDeviceMessages(server.app.db, bob.userId, deviceId, from);
const ack = async (deviceId: string) => deleteAcknowledgedToDeviceMessages(server.app.db, bob.userId, deviceId, await currentToDevicePosition(server.app.db));

test('a message lands in the named device inbox, in order, until acknowledged', async () => {
  const first = await send('m.room_key_request', { [bob.userId]: { [bob.deviceId]: { n: 1 } } });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  await assertMatchesSpec({ method: 'PUT', path: '/_matrix/client/v3/sendToDevice/m.room_key_request/txn1', status: 200, body: first.body });
  await send('m.room_key_request', { [bob.userId]: { [bob.deviceId]: { n: 2 } } });

  const messages = await inbox(bob.deviceId);
  assert.deepEqual(messages.map(({ sender, type, content }) => ({ sender, type, content })), [
    { sender: alice.userId, type: 'm.room_key_request', content: { n: 1 } },
    { sender: alice.userId, type: 'm.room_key_request', content: { n: 2 } },
  ]);
  assert.ok(messages[0].position < messages[1].position);
  assert.deepEqual(await inbox(bobLaptop), [], 'other devices get nothing');
  assert.deepEqual(await inbox(bob.deviceId, messages[0].position).then((rest) => rest.map((m) => m.content)), [{ n: 2 }]);
  assert.equal(await takeToDeviceMessages(server.app.db, bob.userId, bob.deviceId, 0, 1).then((page) => page.length), 1, 'limit');

  assert.equal(await deleteAcknowledgedToDeviceMessages(server.app.db, bob.userId, bob.deviceId, messages[0].position), 1);
  assert.deepEqual((await inbox(bob.deviceId)).map((m) => m.content), [{ n: 2 }]);
  await ack(bob.deviceId);
  assert.deepEqual(await inbox(bob.deviceId), []);
});

test('`*` reaches every device of the user; a retransmitted txnId is stored once', async () => {
  const before = await currentToDevicePosition(server.app.db);
  for (let i = 0; i < 2; i++) {
    const result = await send('m.new_device', { [bob.userId]: { '*': { hello: true } } }, 'same-txn');
    assert.equal(result.status, 200);
  }
  assert.equal((await inbox(bob.deviceId)).length, 1);
  assert.equal((await inbox(bobLaptop)).length, 1);
  assert.ok((await currentToDevicePosition(server.app.db)) > before);
  // Same txnId on another endpoint (event type) is a different request.
  await send('m.other', { [bob.userId]: { [bobLaptop]: {} } }, 'same-txn');
  assert.equal((await inbox(bobLaptop)).length, 2);
  await ack(bob.deviceId);
  await ack(bobLaptop);
});

test('unknown local users and devices are skipped; remote users are refused', async () => {
  const skipped = await send('m.x', { '@ghost:localhost': { DEV: {} }, [bob.userId]: { NOSUCHDEVICE: {} } });
  assert.equal(skipped.status, 200, JSON.stringify(skipped.body));
  assert.deepEqual(await server.app.db.selectFrom('to_device_messages').selectAll().execute(), []);

  const remote = await send('m.x', { '@carol:remote.example': { DEV: {} }, [bob.userId]: { [bob.deviceId]: {} } });
  await assertRefusal(remote, { status: 403, errcode: 'M_FORBIDDEN', method: 'PUT', path: '/_matrix/client/v3/sendToDevice/m.x/txn', checkSpec: false, messageIncludes: 'remote.example' });
  assert.deepEqual(await inbox(bob.deviceId), [], 'nothing of a refused request is stored');
});

test('bad and oversized requests are refused', async () => {
  const cases: [unknown, number, string][] = [
    [undefined, 400, 'M_MISSING_PARAM'],
    [{ 'not-a-user': { D: {} } }, 400, 'M_BAD_JSON'],
    [{ [bob.userId]: { D: 'not an object' } }, 400, 'M_BAD_JSON'],
    [{ [bob.userId]: { [bob.deviceId]: { blob: 'x'.repeat(70 * 1024) } } }, 413, 'M_TOO_LARGE'],
    [Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`@u${i}:localhost`, { D: {} }])), 413, 'M_TOO_LARGE'],
  ];
  for (const [messages, status, errcode] of cases) {
    const result = await send('m.x', messages);
    await assertRefusal(result, { status, errcode, method: 'PUT', path: '/_matrix/client/v3/sendToDevice/m.x/t', checkSpec: false });
  }
  assert.deepEqual(await inbox(bob.deviceId), []);
});

test('messages expire after to_device_message_lifetime and are dropped by deleteExpiredToDeviceMessages', async () => {
  await send('m.x', { [bob.userId]: { [bob.deviceId]: { expiring: true } } });
  const [row] = await server.app.db.selectFrom('to_device_messages').select(['created_ts', 'expires_ts']).execute();
  assert.equal(row.expires_ts - row.created_ts, LIFETIME_MS);
  const later = row.expires_ts + 1;
  assert.deepEqual(await takeToDeviceMessages(server.app.db, bob.userId, bob.deviceId, 0, 100, later), [], 'expired messages are not delivered');
  assert.equal((await inbox(bob.deviceId)).length, 1, 'but still there before expiry');
  const dropped = await deleteExpiredToDeviceMessages(server.app.db, later);
  assert.equal(dropped.messages, 1);
  assert.ok(dropped.transactions >= 1);
  assert.deepEqual(await inbox(bob.deviceId), []);
});

test("a deleted device's inbox goes with it", async () => {
  await send('m.x', { [bob.userId]: { [bobLaptop]: { bye: true } } });
  assert.equal((await inbox(bobLaptop)).length, 1);
  const deleted = await request(server.url, 'POST', '/_matrix/client/v3/delete_devices', {
    token: bob.accessToken,
    body: { devices: [bobLaptop], auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: bob.userId }, password: bob.password } },
  });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  const rows = await server.app.db.selectFrom('to_device_messages').selectAll().where('recipient_device_id', '=', bobLaptop).execute();
  assert.deepEqual(rows, []);
});

test('a reader taking and acknowledging while 50 senders write concurrently loses and repeats nothing', async () => {
  const total = 50;
  const sends = Promise.all(Array.from({ length: total }, (_, i) => send('m.burst', { [bob.userId]: { [bob.deviceId]: { i } } }, `burst-${i}`)));
  const seen: number[] = [];
  let position = 0;
  let done = false;
  void sends.then(() => (done = true));
  // Drain like /sync does: take after the last position, then acknowledge up to it.
  while (!done || seen.length < total) {
    const batch = await takeToDeviceMessages(server.app.db, bob.userId, bob.deviceId, position, 7);
    for (const message of batch) seen.push(message.content.i as number);
    if (batch.length > 0) {
      position = batch[batch.length - 1].position;
      await deleteAcknowledgedToDeviceMessages(server.app.db, bob.userId, bob.deviceId, position);
    } else if (done) {
      break;
    }
  }
  for (const result of await sends) assert.equal(result.status, 200);
  assert.equal(seen.length, total, `got ${seen.length} of ${total}`);
  assert.equal(new Set(seen).size, total, 'no message delivered twice');
});

test('text Postgres cannot store (NUL, unpaired surrogates) is refused as M_BAD_JSON, not a 500', async () => {
  for (const [i, text] of ['\\u0000', '\\ud800'].entries()) {
    const raw = `{"messages":{"${bob.userId}":{"${bob.deviceId}":{"x":"a${text}b"}}}}`;
    const result = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/m.x/nul-${i}`, { token: alice.accessToken, body: raw });
    await assertRefusal(result, { status: 400, errcode: 'M_BAD_JSON', method: 'PUT', path: '/_matrix/client/v3/sendToDevice/m.x/t', checkSpec: false });
  }
  const inPath = await request(server.url, 'PUT', '/_matrix/client/v3/sendToDevice/m.x/a%00b', { token: alice.accessToken, body: { messages: {} } });
  assert.equal(inPath.status, 400, JSON.stringify(inPath.body));
  for (const [path, raw] of [
    ['/_matrix/client/v3/keys/claim', `{"one_time_keys":{"${bob.userId}":{"D\\u0000":"signed_curve25519"}}}`],
    ['/_matrix/client/v3/keys/query', `{"device_keys":{"${bob.userId}":["D\\u0000"]}}`],
    ['/_matrix/client/v3/keys/signatures/upload', `{"${bob.userId}":{"K":{"x":"\\u0000"}}}`],
    ['/_matrix/client/v3/keys/device_signing/upload', `{"master_key":{"user_id":"${alice.userId}","usage":["master"],"keys":{"ed25519:a":"\\u0000"}}}`],
  ]) {
    const result = await request(server.url, 'POST', path, { token: alice.accessToken, body: raw });
    await assertRefusal(result, { status: 400, errcode: 'M_BAD_JSON', method: 'POST', path, checkSpec: false });
  }
});

test('the expiry job, run by the job queue, drops expired messages', async () => {
  await send('m.x', { [bob.userId]: { [bob.deviceId]: { old: true } } });
  await server.app.db.updateTable('to_device_messages').set({ expires_ts: Date.now() - 1 }).execute();
  const queue = createInProcessQueue(createLogger('silent'), createJobMetrics(new Registry(), () => undefined));
  try {
    await scheduleToDeviceExpiry(queue, server.app.db, createLogger('silent'));
    await queue.startProcessing();
    await queue.enqueue(TO_DEVICE_EXPIRY_JOB, {});
    await waitFor('expired messages to be dropped', async () => {
      const left = await server.app.db.selectFrom('to_device_messages').select('position').execute();
      return left.length === 0 ? true : undefined;
    });
  } finally {
    await queue.stop();
  }
});
