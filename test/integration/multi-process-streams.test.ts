import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startAnotherProcess } from '../support/second-process.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say, syncOnce } from '../support/rooms.ts';
import { redisConfig } from '../support/redis-config.ts';
import { waitFor } from '../support/wait-for.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { STREAMS, parseStreamToken } from '../../server/sync/stream-token.ts';
import { sendToDevice } from '../../server/e2ee/to-device.ts';

/**
 * Two API processes on one Postgres and one Redis. Alice acts on the first,
 * Bob syncs on the second: every stream's change made on one wakes a
 * long-poll on the other and is in the response, and tokens are
 * interchangeable. (Redis is required: test/run.ts provides it, CI fails a skip.)
 */
let first: TestServer;
let second: TestServer;
let alice: TestUser;
let bob: TestUser;
let roomId: string;

/** Long-polls last this long: a response that carries the change came from the wake-up, not the timeout. */
const LONG_POLL_MS = 30_000;
/** No presence from the syncs themselves, so nothing but the change under test wakes a long-poll. */
const QUIET = { set_presence: 'offline' };

const REDIS_URL = process.env.PALISADE_TEST_REDIS_URL;
/** Without Redis every test here is skipped loudly (CI fails any skip), as redisUrlOrSkip does. */
const NEEDS_REDIS = REDIS_URL ? {} : { skip: 'needs Redis, none available' };
if (!REDIS_URL) process.stderr.write('\n*** SKIPPED multi-process-streams: it needs Redis and none answered at 127.0.0.1:6379 (set REDIS_URL) ***\n\n');

before(async () => {
  const url = REDIS_URL;
  if (!url) return;
  const redis = redisConfig(url);
  first = await startTestServer({ ...redis });
  second = await startAnotherProcess(first, redis);
  alice = await registerUser(first.url, 'alice');
  bob = await registerUser(second.url, 'bob');
  roomId = await createRoom(first, alice, { preset: 'private_chat', invite: [bob.userId] });
  assert.equal((await roomPost(second, bob, roomId, 'join')).status, 200);
});
after(async () => {
  await second?.stop();
  await first?.stop();
});

const tokenOn = async (server: TestServer, user: TestUser): Promise<string> => (await syncOnce(server, user, { ...QUIET, timeout: '0' })).next_batch;

const carriesAnything = (body: any): boolean =>
  Object.keys(body.rooms?.join ?? {}).length > 0 ||
  Object.keys(body.rooms?.invite ?? {}).length > 0 ||
  Object.keys(body.rooms?.leave ?? {}).length > 0 ||
  ['to_device', 'account_data', 'presence'].some((section) => (body[section]?.events ?? []).length > 0) ||
  (body.device_lists?.changed ?? []).length + (body.device_lists?.left ?? []).length > 0;

/**
 * Parks a long-poll for `user` on `server`, runs `change` (on the other
 * process), and returns the woken response once it carries what `arrived`
 * looks for. An unrelated wake-up first is followed by another long-poll.
 */
async function wokenBy(server: TestServer, user: TestUser, change: () => Promise<unknown>, arrived: (body: any) => boolean, device = false): Promise<any> {
  let since = await tokenOn(server, user);
  const parked = server.app.notifier.waitingFor(user.userId);
  const path = (from: string) => `/_matrix/client/v3/sync?${new URLSearchParams({ ...QUIET, since: from, timeout: String(LONG_POLL_MS) })}`;
  let polling = request(server.url, 'GET', path(since), { token: user.accessToken });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(user.userId) > parked ? true : undefined));
  await change();
  for (let attempt = 0; attempt < 3; attempt++) {
    const woken = await polling;
    assert.equal(woken.status, 200, JSON.stringify(woken.body));
    await assertMatchesSpec({ method: 'GET', path: path(since), status: 200, body: woken.body });
    if (arrived(woken.body)) return woken.body;
    // Only another change may answer first; an empty answer is the long-poll's timeout: the wake-up was missed.
    assert.ok(carriesAnything(woken.body), `the long-poll ran to its timeout without the change${device ? ' (to this device)' : ''}`);
    since = woken.body.next_batch;
    polling = request(server.url, 'GET', path(since), { token: user.accessToken });
  }
  assert.fail(`other changes kept answering the long-poll, never the one under test${device ? ' (to this device)' : ''}`);
}

test('a to-device message sent through the first process wakes the recipient’s long-poll on the second', NEEDS_REDIS, async () => {
  const body = await wokenBy(
    second,
    bob,
    async () => {
      const sent = await request(first.url, 'PUT', '/_matrix/client/v3/sendToDevice/org.example.ping/m1', {
        token: alice.accessToken,
        body: { messages: { [bob.userId]: { [bob.deviceId]: { n: 1 } } } },
      });
      assert.equal(sent.status, 200);
    },
    (response) => (response.to_device?.events ?? []).length > 0,
    true,
  );
  assert.deepEqual(body.to_device.events, [{ sender: alice.userId, type: 'org.example.ping', content: { n: 1 } }]);
  // The first process reads the same stream: its token acknowledges the message there too.
  const onFirst = await syncOnce(first, bob, { ...QUIET, since: body.next_batch, timeout: '0' });
  assert.equal(onFirst.to_device, undefined, 'not delivered twice');
});

test('typing on the first process is seen by a sync on the second, and ends on the second too', NEEDS_REDIS, async () => {
  const typingIn = (response: any): string[] | undefined =>
    response.rooms?.join?.[roomId]?.ephemeral?.events.find((event: { type: string }) => event.type === 'm.typing')?.content.user_ids;
  const started = await wokenBy(
    second,
    bob,
    async () => {
      const put = await request(first.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, {
        token: alice.accessToken,
        body: { typing: true, timeout: 1_000 },
      });
      assert.equal(put.status, 200);
    },
    (response) => typingIn(response) !== undefined,
  );
  assert.deepEqual(typingIn(started), [alice.userId]);
  assert.ok(second.app.typing.expiresAt(roomId, alice.userId) !== undefined, 'the second process holds the typing with its expiry');
  // The one-second timeout ends it: the second process's long-poll wakes with an empty list.
  const since = started.next_batch;
  const ended = await syncOnce(second, bob, { ...QUIET, since, timeout: String(LONG_POLL_MS) });
  assert.deepEqual(typingIn(ended), []);
  assert.equal(second.app.typing.expiresAt(roomId, alice.userId), undefined);
  await waitFor('the first process to drop it too', async () => (first.app.typing.expiresAt(roomId, alice.userId) === undefined ? true : undefined));
});

test('typing stopped on the second process is stopped on the first, and a bad typing request changes nothing', NEEDS_REDIS, async () => {
  const put = (server: TestServer, user: TestUser, body: Record<string, unknown>, target = user.userId) =>
    request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(target)}`, { token: user.accessToken, body });
  assert.equal((await put(second, bob, { typing: true, timeout: 30_000 })).status, 200);
  await waitFor('the first process to see bob typing', async () => (first.app.typing.typingIn(roomId).userIds.includes(bob.userId) ? true : undefined));
  assert.equal((await put(first, alice, { typing: false }, bob.userId)).status, 403, 'only for oneself');
  assert.ok(second.app.typing.typingIn(roomId).userIds.includes(bob.userId), 'the refusal changed nothing');
  assert.equal((await put(second, bob, { typing: false })).status, 200);
  await waitFor('the first process to see bob stop', async () => (first.app.typing.typingIn(roomId).userIds.includes(bob.userId) ? undefined : true));
  assert.equal(first.app.typing.currentPosition(), second.app.typing.currentPosition(), 'one typing position for both');
});

test('a receipt sent through the first process reaches a long-poll on the second', NEEDS_REDIS, async () => {
  const eventId = await say(second, bob, roomId, 'read me');
  const eventPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`;
  // A receipt needs its event visible where it is sent: the first process learns of it over Redis.
  await waitFor('the first process to show the event', async () => ((await request(first.url, 'GET', eventPath, { token: alice.accessToken })).status === 200 ? true : undefined));
  const receiptOf = (response: any) =>
    response.rooms?.join?.[roomId]?.ephemeral?.events.find((event: { type: string }) => event.type === 'm.receipt')?.content?.[eventId]?.['m.read']?.[alice.userId];
  const body = await wokenBy(
    second,
    bob,
    async () => {
      const sent = await request(first.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, {
        token: alice.accessToken,
        body: {},
      });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
    },
    (response) => receiptOf(response) !== undefined,
  );
  assert.equal(typeof receiptOf(body).ts, 'number');
});

test('account data set through one process reaches the owner’s long-poll on the other', NEEDS_REDIS, async () => {
  const body = await wokenBy(
    second,
    alice,
    async () => {
      const put = await request(first.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/org.example.setting`, {
        token: alice.accessToken,
        body: { colour: 'green' },
      });
      assert.equal(put.status, 200);
    },
    (response) => (response.account_data?.events ?? []).some((event: { type: string }) => event.type === 'org.example.setting'),
  );
  const setting = body.account_data.events.find((event: { type: string }) => event.type === 'org.example.setting');
  assert.deepEqual(setting.content, { colour: 'green' });
  const refused = await request(first.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/account_data/org.example.setting`, {
    token: alice.accessToken,
    body: { colour: 'red' },
  });
  assert.equal(refused.status, 403, 'nobody writes another’s account data, on any process');
});

test('a presence change on the first process wakes a room peer on the second', NEEDS_REDIS, async () => {
  const presenceOf = (response: any) => (response.presence?.events ?? []).find((event: { sender: string }) => event.sender === alice.userId);
  const body = await wokenBy(
    second,
    bob,
    async () => {
      const put = await request(first.url, 'PUT', `/_matrix/client/v3/presence/${encodeURIComponent(alice.userId)}/status`, {
        token: alice.accessToken,
        body: { presence: 'unavailable', status_msg: 'in a meeting' },
      });
      assert.equal(put.status, 200);
    },
    (response) => presenceOf(response)?.content.status_msg === 'in a meeting',
  );
  assert.equal(presenceOf(body).content.presence, 'unavailable');
});

test('new device keys uploaded through the first process reach a peer’s long-poll on the second as a device-list change', NEEDS_REDIS, async () => {
  const body = await wokenBy(
    second,
    bob,
    async () => {
      const device = testDevice(alice.userId, alice.deviceId);
      const uploaded = await request(first.url, 'POST', '/_matrix/client/v3/keys/upload', { token: alice.accessToken, body: { device_keys: device.deviceKeys } });
      assert.equal(uploaded.status, 200);
    },
    (response) => (response.device_lists?.changed ?? []).includes(alice.userId),
  );
  assert.deepEqual(body.device_lists.changed, [alice.userId]);
});

test('both processes settle on the same position for every stream, and take each other’s tokens', NEEDS_REDIS, async () => {
  const bothTokens = async () => [await tokenOn(first, bob), await tokenOn(second, bob)];
  const [onFirst, onSecond] = await waitFor('the positions to agree', async () => {
    const tokens = await bothTokens();
    return tokens[0] === tokens[1] ? tokens : undefined;
  });
  const positions = parseStreamToken(onFirst);
  for (const stream of STREAMS) if (stream !== 'typing') assert.ok(positions[stream] > 0, `${stream} advanced (${onFirst})`);
  // A token from one process is a valid, caught-up token on the other.
  const crossed = await syncOnce(first, bob, { ...QUIET, since: onSecond, timeout: '0' });
  assert.equal(crossed.rooms?.join?.[roomId]?.timeline?.events?.length ?? 0, 0, 'nothing repeated');
  assert.equal(crossed.to_device, undefined);
  const bad = await request(second.url, 'GET', '/_matrix/client/v3/sync?since=s1_2_x', { token: bob.accessToken });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
});

test('with writers on both processes at once, a client syncing on one misses no event and no to-device message', { ...NEEDS_REDIS, timeout: 120_000 }, async () => {
  const ROOMS = 4;
  const PER_WRITER = 12;
  const rooms: string[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const id = await createRoom(r % 2 ? second : first, alice, { preset: 'private_chat', invite: [bob.userId] });
    assert.equal((await roomPost(second, bob, id, 'join')).status, 200);
    rooms.push(id);
  }
  // Wait for the joins to be visible on both before taking the starting token.
  let since = await waitFor('both processes to agree', async () => {
    const [a, b] = [await tokenOn(first, bob), await tokenOn(second, bob)];
    return a === b ? b : undefined;
  });
  const sent = new Set<string>();
  const writers = [first, second].flatMap((server, s) =>
    rooms.map(async (roomId, r) => {
      for (let i = 0; i < PER_WRITER; i++) {
        const text = `p${s}-r${r}-${i}`;
        sent.add(text);
        await say(server, alice, roomId, text);
        const put = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/org.example.count/${text}`, {
          token: alice.accessToken,
          body: { messages: { [bob.userId]: { [bob.deviceId]: { text } } } },
        });
        assert.equal(put.status, 200);
      }
    }),
  );
  const seenEvents: string[] = [];
  const seenToDevice: string[] = [];
  let writing = true;
  const allWritten = Promise.all(writers).finally(() => (writing = false));
  const collect = async (timeout: string) => {
    const body = await syncOnce(second, bob, { ...QUIET, since, timeout, filter: JSON.stringify({ room: { timeline: { limit: 100 } } }) });
    for (const roomId of rooms) {
      const timeline = body.rooms?.join?.[roomId]?.timeline;
      assert.notEqual(timeline?.limited, true, 'the timeline never needs to skip (limit 100)');
      for (const event of timeline?.events ?? []) if (event.type === 'm.room.message') seenEvents.push(event.content.body);
    }
    for (const message of body.to_device?.events ?? []) seenToDevice.push(message.content.text);
    since = body.next_batch;
  };
  while (writing) await collect('1000');
  await allWritten;
  // Drain: until both processes agree on every position, and once more from there.
  await waitFor('both processes to agree', async () => ((await tokenOn(first, bob)) === (await tokenOn(second, bob)) ? true : undefined));
  for (let i = 0; i < 3; i++) await collect('0');
  assert.equal(sent.size, 2 * ROOMS * PER_WRITER);
  assert.deepEqual([...seenEvents].sort(), [...sent].sort(), 'every event exactly once');
  assert.deepEqual([...seenToDevice].sort(), [...sent].sort(), 'every to-device message exactly once');
});

test('with presence changing through both processes at once, a peer syncing on one ends with everyone’s last state', { ...NEEDS_REDIS, timeout: 120_000 }, async () => {
  const USERS = 4;
  const CHANGES = 8;
  const peers: TestUser[] = [];
  for (let u = 0; u < USERS; u++) {
    const peer = await registerUser(u % 2 ? second.url : first.url, `peer${u}`);
    assert.equal((await roomPost(first, alice, roomId, 'invite', { user_id: peer.userId })).status, 200);
    assert.equal((await roomPost(u % 2 ? second : first, peer, roomId, 'join')).status, 200);
    peers.push(peer);
  }
  let since = await waitFor('both processes to agree', async () => {
    const [a, b] = [await tokenOn(first, bob), await tokenOn(second, bob)];
    return a === b ? b : undefined;
  });
  const latest = new Map<string, string>();
  const collect = async (timeout: string) => {
    const body = await syncOnce(second, bob, { ...QUIET, since, timeout });
    for (const event of body.presence?.events ?? []) if (event.content.status_msg) latest.set(event.sender, event.content.status_msg);
    since = body.next_batch;
  };
  let writing = true;
  const writers = Promise.all(
    peers.map(async (peer, u) => {
      for (let i = 0; i < CHANGES; i++) {
        const server = (u + i) % 2 ? second : first;
        const put = await request(server.url, 'PUT', `/_matrix/client/v3/presence/${encodeURIComponent(peer.userId)}/status`, {
          token: peer.accessToken,
          body: { presence: 'online', status_msg: `${u}-${i}` },
        });
        assert.equal(put.status, 200);
      }
    }),
  ).finally(() => (writing = false));
  while (writing) await collect('1000');
  await writers;
  await waitFor('both processes to agree', async () => ((await tokenOn(first, bob)) === (await tokenOn(second, bob)) ? true : undefined));
  await collect('0');
  assert.deepEqual(Object.fromEntries(latest), Object.fromEntries(peers.map((peer, u) => [peer.userId, `${u}-${CHANGES - 1}`])));
});

test('a change whose announcement was lost (Redis away) still becomes visible on the other process, from Postgres', NEEDS_REDIS, async () => {
  const before = await tokenOn(second, bob);
  // Written through the first process's storage without announcing it: as if the pub/sub message never arrived.
  const sent = await sendToDevice(first.app.db, 'localhost', { senderUserId: alice.userId, senderDeviceId: alice.deviceId, eventType: 'org.example.lost', txnId: 'lost-1', messages: { [bob.userId]: { [bob.deviceId]: { lost: true } } } }, 60_000);
  assert.ok(sent.position > 0);
  await waitFor('the second process to catch up from Postgres', async () => (second.app.e2eeStreams.toDevice.currentPosition() >= sent.position ? true : undefined), 20_000);
  const body = await syncOnce(second, bob, { ...QUIET, since: before, timeout: '0' });
  assert.deepEqual(body.to_device?.events, [{ sender: alice.userId, type: 'org.example.lost', content: { lost: true } }]);
});
