import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, say, sendMessage } from '../support/rooms.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice, type TestRegistration } from '../support/appservice.ts';
import { waitFor } from '../support/wait-for.ts';
import { MAX_EPHEMERAL_PER_TRANSACTION } from '../../server/appservices/ephemeral.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { deferStack } from '../support/cleanup.ts';
import { assertEventMatchesSpec, assertRequestMatchesSpec } from '../support/spec-schema.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startWorker } from '../../server/start-worker.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig } from '../support/redis-config.ts';
import { sql } from 'kysely';
import { assertTableColumns } from '../support/table-columns.ts';
import type { AppserviceStateTable } from '../../server/storage/tables/appservices.ts';

interface Setup {
  server: TestServer;
  fake: FakeAppservice;
  registration: TestRegistration;
  alice: TestUser;
  /** Alice's room, with the bridge's ghost @bridge_ghost joined. */
  roomId: string;
  /** Acts as the ghost. */
  asGhost: (method: string, path: string, body?: unknown) => ReturnType<typeof request>;
}

const GHOST = '@bridge_ghost:localhost';

/**
 * A server with one appservice (`overrides` on its registration) and a room where alice and its ghost are joined.
 * With `redis`, jobs (delivery) run in a separate worker process's code over BullMQ.
 */
async function start(t: TestContext, overrides: Partial<TestRegistration> = { receive_ephemeral: true }, redis?: ReturnType<typeof redisConfig>): Promise<Setup> {
  const registration = makeRegistration('bridge', { namespaces: { users: [{ regex: '@bridge_.*:localhost', exclusive: true }] }, ...overrides });
  const fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  const defer = deferStack(t);
  defer(() => fake.close());
  const files = writeRegistrationFiles([registration]);
  const server = await startTestServer({ app_service_config_files: files, ...redis });
  defer(() => server.stop());
  if (redis) {
    const worker = await startWorker(
      loadConfig({ values: { server_name: 'localhost', data_dir: server.dataDir, app_service_config_files: files, ...redis }, env: { DATABASE_URL: server.databaseUrl } }),
      createLogger('silent'),
    );
    // Stopped before the server, while the database still exists.
    defer(() => worker.stop());
  }
  const alice = await registerUser(server.url, 'alice');
  const asGhost = (method: string, path: string, body?: unknown) =>
    request(server.url, method, `${path}${path.includes('?') ? '&' : '?'}user_id=${encodeURIComponent(GHOST)}`, { token: registration.as_token, body });
  const registered = await request(server.url, 'POST', '/_matrix/client/v3/register', {
    token: registration.as_token,
    body: { type: 'm.login.application_service', username: 'bridge_ghost', inhibit_login: true },
  });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  assert.equal((await asGhost('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, {})).status, 200);
  await waitFor('the ghost’s join', async () => (fake.accepted().some((txn) => txn.body.events.some((event: any) => event.state_key === GHOST)) ? true : undefined));
  return { server, fake, registration, alice, roomId, asGhost };
}

/** Every transaction the fake accepted is a valid transaction body, and each ephemeral event a valid event of its type. */
async function assertTransactionsMatchSpec(fake: FakeAppservice): Promise<void> {
  for (const txn of fake.accepted()) {
    await assertRequestMatchesSpec({ api: 'application-service', method: 'PUT', path: `/_matrix/app/v1/transactions/${txn.txnId}`, body: txn.body });
    for (const event of txn.body.ephemeral ?? []) await assertEventMatchesSpec(event);
  }
}

const ephemeralOf = (fake: FakeAppservice): any[] => fake.accepted().flatMap((txn) => txn.body.ephemeral ?? []);
const waitForEphemeral = (fake: FakeAppservice, what: string, match: (event: any) => boolean) =>
  waitFor(what, async () => ephemeralOf(fake).find(match));

const setTyping = (server: TestServer, user: TestUser, roomId: string, typing: boolean) =>
  request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(user.userId)}`, {
    token: user.accessToken,
    body: typing ? { typing: true, timeout: 30_000 } : { typing: false },
  });
const sendReceipt = (server: TestServer, user: TestUser, roomId: string, type: string, eventId: string) =>
  request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/${type}/${encodeURIComponent(eventId)}`, { token: user.accessToken, body: {} });
const setPresence = (server: TestServer, user: TestUser, presence: string, statusMsg: string) =>
  request(server.url, 'PUT', `/_matrix/client/v3/presence/${encodeURIComponent(user.userId)}/status`, { token: user.accessToken, body: { presence, status_msg: statusMsg } });

test('typing in a room with its users arrives as m.typing (the current list) under both MSC2409 names; other rooms’ typing does not', async (t) => {
  const { server, fake, alice, roomId } = await start(t);
  const elsewhere = await createRoom(server, alice, { preset: 'public_chat' });
  assert.equal((await setTyping(server, alice, elsewhere, true)).status, 200);
  assert.equal((await setTyping(server, alice, roomId, true)).status, 200);
  const typing = await waitForEphemeral(fake, 'alice typing', (event) => event.type === 'm.typing' && event.content.user_ids.includes(alice.userId));
  assert.deepEqual(typing, { type: 'm.typing', room_id: roomId, content: { user_ids: [alice.userId] } });
  const carrying = fake.accepted().find((txn) => txn.body.ephemeral?.some((event: any) => event.type === 'm.typing'))!;
  assert.deepEqual(carrying.body['de.sorunome.msc2409.ephemeral'], carrying.body.ephemeral);
  assert.equal((await setTyping(server, alice, roomId, false)).status, 200);
  await waitForEphemeral(fake, 'alice stopping', (event) => event.type === 'm.typing' && event.content.user_ids.length === 0);
  assert.ok(!ephemeralOf(fake).some((event) => event.room_id === elsewhere), 'nothing about the room without its users');
  await assertTransactionsMatchSpec(fake);
});

test('receipts arrive as m.receipt; others’ private receipts do not, its own users’ do', async (t) => {
  const { server, fake, alice, roomId, asGhost } = await start(t);
  const first = await say(server, alice, roomId, 'one');
  const second = await say(server, alice, roomId, 'two');
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read.private', first)).status, 200);
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', second)).status, 200);
  const receipt = await waitForEphemeral(fake, 'alice’s public receipt', (event) => event.type === 'm.receipt' && event.content[second]);
  assert.equal(receipt.room_id, roomId);
  assert.deepEqual(Object.keys(receipt.content[second]['m.read']), [alice.userId]);
  assert.equal(typeof receipt.content[second]['m.read'][alice.userId].ts, 'number');
  assert.ok(!ephemeralOf(fake).some((event) => event.type === 'm.receipt' && event.content[first]), 'alice’s private receipt is hers alone');

  // An older or equal receipt does not move hers, so it is not sent again; the ghost's receipt marks the point.
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', first)).status, 200);
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', second)).status, 200);
  assert.equal((await asGhost('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(second)}`, {})).status, 200);
  await waitForEphemeral(fake, 'the ghost’s receipt', (event) => event.type === 'm.receipt' && event.content[second]?.['m.read']?.[GHOST]);
  const alicesReads = ephemeralOf(fake).filter((event) => event.type === 'm.receipt' && Object.values(event.content).some((byType: any) => byType['m.read']?.[alice.userId]));
  assert.equal(alicesReads.length, 1, 'alice’s receipt arrived once');
  await assertTransactionsMatchSpec(fake);

  assert.equal((await asGhost('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read.private/${encodeURIComponent(first)}`, {})).status, 200);
  const own = await waitForEphemeral(fake, 'the ghost’s private receipt', (event) => event.type === 'm.receipt' && event.content[first]);
  assert.deepEqual(Object.keys(own.content[first]), ['m.read.private']);
  assert.deepEqual(Object.keys(own.content[first]['m.read.private']), [GHOST]);
});

test('an unthreaded and a threaded receipt of one user on one event both arrive, in separate m.receipt events', async (t) => {
  const { server, fake, alice, roomId } = await start(t);
  const root = await say(server, alice, roomId, 'root');
  const reply = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'in the thread', 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
  const replyId = reply.body.event_id as string;
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', replyId)).status, 200);
  const threaded = await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(replyId)}`, {
    token: alice.accessToken,
    body: { thread_id: root },
  });
  assert.equal(threaded.status, 200, JSON.stringify(threaded.body));
  const alicesOn = () => ephemeralOf(fake).filter((event) => event.type === 'm.receipt' && event.content[replyId]?.['m.read']?.[alice.userId]).map((event) => event.content[replyId]['m.read'][alice.userId]);
  const both = await waitFor('both of alice’s receipts', async () => (alicesOn().length >= 2 ? alicesOn() : undefined));
  assert.deepEqual(both.map((receipt: any) => receipt.thread_id ?? null).sort(), [root, null].sort(), 'one unthreaded, one in the thread');
  await assertTransactionsMatchSpec(fake);
});

test('presence of users sharing a room with its users arrives as m.presence; of strangers it does not', async (t) => {
  const { server, fake, alice } = await start(t);
  const stranger = await registerUser(server.url, 'stranger');
  assert.equal((await setPresence(server, stranger, 'unavailable', 'not here')).status, 200);
  assert.equal((await setPresence(server, alice, 'online', 'bridging')).status, 200);
  const presence = await waitForEphemeral(fake, 'alice’s presence', (event) => event.type === 'm.presence' && event.sender === alice.userId && event.content.status_msg === 'bridging');
  assert.equal(presence.content.presence, 'online');
  assert.equal(typeof presence.content.last_active_ago, 'number');
  assert.ok(!ephemeralOf(fake).some((event) => event.sender === stranger.userId), 'the stranger shares no room with it');
  await assertTransactionsMatchSpec(fake);
});

test('an appservice without receive_ephemeral gets no ephemeral events, and without org.matrix.msc3202 no device lists', async (t) => {
  const { server, fake, alice, roomId } = await start(t, {});
  assert.equal((await setTyping(server, alice, roomId, true)).status, 200);
  assert.equal((await setPresence(server, alice, 'online', 'hi')).status, 200);
  // Without org.matrix.msc3202 no device lists either.
  const device = testDevice(alice.userId, alice.deviceId);
  assert.equal((await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: alice.accessToken, body: { device_keys: device.deviceKeys } })).status, 200);
  const eventId = await say(server, alice, roomId, 'after');
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', eventId)).status, 200);
  await waitFor('the message', async () => (fake.accepted().some((txn) => txn.body.events.some((event: any) => event.event_id === eventId)) ? true : undefined));
  assert.equal(ephemeralOf(fake).length, 0);
  assert.ok(fake.transactions.every((txn) => txn.body['de.sorunome.msc2409.ephemeral'] === undefined));
  assert.ok(fake.transactions.every((txn) => txn.body.device_lists === undefined && txn.body['org.matrix.msc3202.device_lists'] === undefined));
});

test('while it is down receipts and presence wait; a retry resends the same txnId with the same ephemeral events', async (t) => {
  const { server, fake, alice, roomId, registration } = await start(t);
  const eventId = await say(server, alice, roomId, 'before');
  await waitFor('the message', async () => (fake.accepted().some((txn) => txn.body.events.some((event: any) => event.event_id === eventId)) ? true : undefined));
  fake.down = true;
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', eventId)).status, 200);
  assert.equal((await setPresence(server, alice, 'unavailable', 'away meanwhile')).status, 200);
  const refused = await waitFor('a refused attempt carrying the receipt', async () =>
    fake.transactions.find((txn) => txn.answered !== 200 && txn.body.ephemeral?.some((event: any) => event.type === 'm.receipt' && event.content[eventId])),
  );
  fake.down = false;
  // Back, it pings: delivery stops waiting out its backoff.
  const ping = await request(server.url, 'POST', '/_matrix/client/v1/appservice/bridge/ping', { token: registration.as_token, body: {} });
  assert.equal(ping.status, 200, JSON.stringify(ping.body));
  const accepted = await waitFor('the same transaction accepted', async () => fake.accepted().find((txn) => txn.txnId === refused.txnId), 20_000);
  assert.deepEqual(accepted.body, refused.body, 'same events, same ephemeral events');
  await waitForEphemeral(fake, 'the presence set while down', (event) => event.type === 'm.presence' && event.content.status_msg === 'away meanwhile');
  const receipts = ephemeralOf(fake).filter((event) => event.type === 'm.receipt' && event.content[eventId]);
  assert.ok(receipts.length >= 1);
});

test('MSC3202: device-list changes of users sharing its encrypted rooms, joins and leaves, under both names', async (t) => {
  const { server, fake, alice, asGhost } = await start(t, { 'org.matrix.msc3202': true, 'io.palisade.supports_encryption': true });
  const encrypted = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  assert.equal((await asGhost('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(encrypted)}/join`, {})).status, 200);
  const lists = () => fake.accepted().flatMap((txn) => (txn.body['org.matrix.msc3202.device_lists'] ? [txn.body] : []));

  const device = testDevice(alice.userId, alice.deviceId);
  assert.equal((await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: alice.accessToken, body: { device_keys: device.deviceKeys } })).status, 200);
  const keyChange = await waitFor('alice’s key change', async () => lists().find((body) => body['org.matrix.msc3202.device_lists'].changed.includes(alice.userId)));
  assert.deepEqual(keyChange.device_lists, keyChange['org.matrix.msc3202.device_lists'], 'the stable name carries the same');

  const bob = await registerUser(server.url, 'bob');
  const stranger = await registerUser(server.url, 'stranger');
  const strangerDevice = testDevice(stranger.userId, stranger.deviceId);
  assert.equal((await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: stranger.accessToken, body: { device_keys: strangerDevice.deviceKeys } })).status, 200);
  assert.equal((await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(encrypted)}/join`, { token: bob.accessToken, body: {} })).status, 200);
  await waitFor('bob joining the encrypted room', async () => lists().find((body) => body['org.matrix.msc3202.device_lists'].changed.includes(bob.userId)));
  assert.equal((await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(encrypted)}/leave`, { token: bob.accessToken, body: {} })).status, 200);
  const left = await waitFor('bob leaving', async () => lists().find((body) => body['org.matrix.msc3202.device_lists'].left.includes(bob.userId)));
  assert.ok(!left['org.matrix.msc3202.device_lists'].changed.includes(bob.userId));
  assert.ok(!lists().some((body) => body['org.matrix.msc3202.device_lists'].changed.includes(stranger.userId)), 'the stranger shares no room with it');
});

test('with delivery in a worker: receipts and presence written by the API process reach the appservice', async (t) => {
  const url = redisUrlOrSkip(t);
  if (!url) return;
  const { server, fake, alice, roomId } = await start(t, { receive_ephemeral: true }, redisConfig(url));
  const eventId = await say(server, alice, roomId, 'read in a worker’s transaction');
  assert.equal((await sendReceipt(server, alice, roomId, 'm.read', eventId)).status, 200);
  assert.equal((await setPresence(server, alice, 'online', 'worker-delivered')).status, 200);
  await waitForEphemeral(fake, 'the receipt', (event) => event.type === 'm.receipt' && event.content[eventId]);
  await waitForEphemeral(fake, 'the presence', (event) => event.type === 'm.presence' && event.content.status_msg === 'worker-delivered');
});

test('more receipts than one transaction carries arrive across several, each exactly once', async (t) => {
  const { server, fake, alice, registration } = await start(t, {
    receive_ephemeral: true,
    // Every room on the server interests it, so no ghost has to join the rooms.
    namespaces: { users: [{ regex: '@bridge_.*:localhost', exclusive: true }], rooms: [{ regex: '!.*:localhost', exclusive: false }] },
  });
  // Three readers, 40 receipts each: under the per-user receipt rate limit's burst (50).
  const readers = [alice, await registerUser(server.url, 'bob'), await registerUser(server.url, 'carol')];
  fake.down = true;
  const want = new Set<string>();
  let lastRoom = '';
  for (let n = 0; n < MAX_EPHEMERAL_PER_TRANSACTION + 20; n++) {
    const reader = readers[n % readers.length];
    lastRoom = await createRoom(server, reader, { preset: 'private_chat' });
    const eventId = await say(server, reader, lastRoom, `position ${n}`);
    const receipt = await sendReceipt(server, reader, lastRoom, 'm.read', eventId);
    assert.equal(receipt.status, 200, JSON.stringify(receipt.body));
    want.add(`${lastRoom} ${eventId} ${reader.userId}`);
  }
  fake.down = false;
  assert.equal((await request(server.url, 'POST', '/_matrix/client/v1/appservice/bridge/ping', { token: registration.as_token, body: {} })).status, 200);
  const marker = await say(server, readers[(MAX_EPHEMERAL_PER_TRANSACTION + 19) % readers.length], lastRoom, 'marker');
  await waitFor('the marker', async () => (fake.accepted().some((txn) => txn.body.events.some((event: any) => event.event_id === marker)) ? true : undefined), 30_000);

  const seen: string[] = [];
  let carrying = 0;
  for (const txn of fake.accepted()) {
    const receipts = (txn.body.ephemeral ?? []).filter((event: any) => event.type === 'm.receipt');
    let rows = 0;
    for (const receipt of receipts) {
      for (const [eventId, byType] of Object.entries(receipt.content as Record<string, any>)) {
        for (const userId of Object.keys(byType['m.read'] ?? {})) {
          seen.push(`${receipt.room_id} ${eventId} ${userId}`);
          rows += 1;
        }
      }
    }
    assert.ok(rows <= MAX_EPHEMERAL_PER_TRANSACTION, `at most ${MAX_EPHEMERAL_PER_TRANSACTION} receipts in one transaction`);
    if (rows > 0) carrying += 1;
  }
  assert.equal(new Set(seen).size, seen.length, 'none twice');
  assert.deepEqual(new Set(seen), want, 'every one');
  assert.ok(carrying >= 2, 'they took several transactions');
});

test('requests an appservice makes as its ghost (sync, typing, receipts) do not make the ghost online', async (t) => {
  const { server, alice, roomId, asGhost } = await start(t);
  const eventId = await say(server, alice, roomId, 'anchor');
  assert.equal((await asGhost('GET', '/_matrix/client/v3/sync?timeout=0')).status, 200);
  assert.equal((await asGhost('GET', '/_matrix/client/v3/sync?timeout=0&set_presence=online')).status, 200);
  assert.equal((await asGhost('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(GHOST)}`, { typing: true, timeout: 1000 })).status, 200);
  assert.equal((await asGhost('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, {})).status, 200);
  const seen = await request(server.url, 'GET', `/_matrix/client/v3/presence/${encodeURIComponent(GHOST)}/status`, { token: alice.accessToken });
  assert.equal(seen.status, 200);
  assert.equal(seen.body.presence, 'offline');
  // Setting it on purpose still works.
  assert.equal((await asGhost('PUT', `/_matrix/client/v3/presence/${encodeURIComponent(GHOST)}/status`, { presence: 'online' })).status, 200);
  const set = await request(server.url, 'GET', `/_matrix/client/v3/presence/${encodeURIComponent(GHOST)}/status`, { token: alice.accessToken });
  assert.equal(set.body.presence, 'online');
});

test('the migrated appservice_state has a position per stream, and delivery’s indexes exist', async (t) => {
  const server = await startTestServer();
  t.after(() => server.stop());
  await assertTableColumns(server.app.db, {
    appservice_state: {
      appservice_id: 1,
      stream_position: 1,
      visible_position: 1,
      next_txn_id: 1,
      to_device_position: 1,
      receipt_position: 1,
      presence_position: 1,
      device_list_position: 1,
      receipt_visible_position: 1,
      presence_visible_position: 1,
    } satisfies Record<keyof AppserviceStateTable, 1>,
  });
  const { rows } = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`.execute(server.app.db);
  for (const index of ['receipts_stream_idx', 'users_appservice_idx']) assert.ok(rows.some((row) => row.indexname === index), index);
});
