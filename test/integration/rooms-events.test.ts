import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomGet, roomPost, roomSnapshot, say, sendMessage } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const path = (roomId: string, rest: string) => `/_matrix/client/v3/rooms/${roomId}/${rest}`;
const bodies = (chunk: any[]) => chunk.filter((event) => event.type === 'm.room.message').map((event) => event.content.body);

test('send is idempotent per transaction ID; the event reads back in client format', async () => {
  const roomId = await createRoom(server, alice);
  const first = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'once' }, 'same-txn');
  assert.equal(first.status, 200);
  await assertMatchesSpec({ method: 'PUT', path: path(roomId, 'send/m.room.message/same-txn'), status: 200, body: first.body });
  const before = await roomSnapshot(server, roomId);
  const replay = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'once' }, 'same-txn');
  assert.deepEqual(replay.body, first.body, 'a replay returns the same event ID');
  assert.deepEqual(await roomSnapshot(server, roomId), before, 'and stores nothing new');
  const other = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'twice' }, 'other-txn');
  assert.notEqual(other.body.event_id, first.body.event_id);

  const event = await roomGet(server, alice, roomId, `event/${encodeURIComponent(first.body.event_id)}`);
  assert.equal(event.status, 200);
  await assertMatchesSpec({ method: 'GET', path: path(roomId, `event/${first.body.event_id}`), status: 200, body: event.body });
  await assertEventMatchesSpec(event.body);
  assert.equal(event.body.content.body, 'once');
  assert.equal(event.body.unsigned.transaction_id, 'same-txn', 'the sending device sees its transaction ID');
});

test('malformed and oversized content is refused and stores nothing', async () => {
  const roomId = await createRoom(server, alice);
  const send = (body: unknown) => request(server.url, 'PUT', `${path(roomId, 'send/m.room.message/')}${Math.random()}`, { token: alice.accessToken, body });
  const cases: Array<[string, unknown, number, string]> = [
    ['not JSON', '{"body": ', 400, 'M_NOT_JSON'],
    ['an array', [1, 2], 400, 'M_BAD_JSON'],
    ['a float', { msgtype: 'm.text', body: 'x', n: 1.5 }, 400, 'M_BAD_JSON'],
    ['too large', { msgtype: 'm.text', body: 'x'.repeat(70_000) }, 413, 'M_TOO_LARGE'],
  ];
  for (const [name, body, status, errcode] of cases) {
    const before = await roomSnapshot(server, roomId);
    const result = await send(body);
    await assertRefusal(result, { method: 'PUT', path: path(roomId, 'send/m.room.message/x'), status, errcode, checkSpec: status === 400 });
    assert.deepEqual(await roomSnapshot(server, roomId), before, `${name}: nothing stored`);
  }
  const state = await putState(server, alice, roomId, 'm.room.power_levels', '', { users: { [alice.userId]: '100' } });
  await assertRefusal(state, { method: 'PUT', path: path(roomId, 'state/m.room.power_levels/'), status: 400, errcode: 'M_BAD_JSON', checkSpec: false });
});

test('state: put and get a custom state event, with and without a state key', async () => {
  const roomId = await createRoom(server, alice);
  const put = await putState(server, alice, roomId, 'org.example.config', 'a/b', { value: 1 });
  assert.equal(put.status, 200);
  await assertMatchesSpec({ method: 'PUT', path: path(roomId, 'state/org.example.config/a%2Fb'), status: 200, body: put.body });
  const got = await roomGet(server, alice, roomId, `state/org.example.config/${encodeURIComponent('a/b')}`);
  assert.deepEqual(got.body, { value: 1 });
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'state/org.example.config/a%2Fb'), status: 200, body: got.body });
  const missing = await roomGet(server, alice, roomId, 'state/org.example.config/nope');
  await assertRefusal(missing, { method: 'GET', path: path(roomId, 'state/org.example.config/nope'), status: 404, errcode: 'M_NOT_FOUND' });
  const name = await putState(server, alice, roomId, 'm.room.name', '', { name: 'Renamed' });
  assert.equal(name.status, 200);
  assert.deepEqual((await roomGet(server, alice, roomId, 'state/m.room.name')).body, { name: 'Renamed' });
  assert.equal((await roomGet(server, bob, roomId, 'state')).status, 403, 'non-members cannot read state');
});

test('redaction: one\'s own events, others\' only with the redact level', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const alicesEvent = await say(server, alice, roomId, 'secret');
  const bobsEvent = await say(server, bob, roomId, 'oops');
  const redact = (user: TestUser, eventId: string, txnId: string) =>
    request(server.url, 'PUT', path(roomId, `redact/${encodeURIComponent(eventId)}/${txnId}`), { token: user.accessToken, body: { reason: 'cleanup' } });

  const before = await roomSnapshot(server, roomId);
  await assertRefusal(await redact(bob, alicesEvent, 'r1'), { method: 'PUT', path: path(roomId, 'redact/$x/r1'), status: 403, errcode: 'M_FORBIDDEN', checkSpec: false, messageIncludes: 'redact' });
  assert.deepEqual(await roomSnapshot(server, roomId), before);

  const own = await redact(bob, bobsEvent, 'r2');
  assert.equal(own.status, 200);
  await assertMatchesSpec({ method: 'PUT', path: path(roomId, 'redact/$x/r2'), status: 200, body: own.body });
  const byAdmin = await redact(alice, bobsEvent, 'r3');
  assert.equal(byAdmin.status, 200, 'the admin may redact too');
  const redacted = await roomGet(server, alice, roomId, `event/${encodeURIComponent(bobsEvent)}`);
  assert.deepEqual(redacted.body.content, {});
  assert.equal(redacted.body.unsigned.redacted_because.event_id, own.body.event_id);
  await assertMatchesSpec({ method: 'GET', path: path(roomId, `event/${bobsEvent}`), status: 200, body: redacted.body });
  const unknown = await redact(alice, '$nope', 'r4');
  await assertRefusal(unknown, { method: 'PUT', path: path(roomId, 'redact/$nope/r4'), status: 404, errcode: 'M_NOT_FOUND', checkSpec: false });
});

test('/messages pages backwards and forwards with tokens, limits and type filters', async () => {
  const roomId = await createRoom(server, alice);
  for (const body of ['one', 'two', 'three', 'four', 'five']) await say(server, alice, roomId, body);
  const newest = await roomGet(server, alice, roomId, 'messages?dir=b&limit=2');
  assert.equal(newest.status, 200);
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'messages'), status: 200, body: newest.body });
  assert.deepEqual(bodies(newest.body.chunk), ['five', 'four']);
  const older = await roomGet(server, alice, roomId, `messages?dir=b&limit=2&from=${newest.body.end}`);
  assert.deepEqual(bodies(older.body.chunk), ['three', 'two']);
  const forwards = await roomGet(server, alice, roomId, `messages?dir=f&limit=10&from=${older.body.end}`);
  assert.deepEqual(bodies(forwards.body.chunk), ['two', 'three', 'four', 'five'], 'forwards from the older page\'s end: after "one"');
  assert.equal(forwards.body.end, undefined, 'no end when the page reaches the newest event');
  const filtered = await roomGet(server, alice, roomId, `messages?dir=b&limit=50&filter=${encodeURIComponent(JSON.stringify({ types: ['m.room.name', 'm.room.message'], not_senders: [bob.userId] }))}`);
  assert.deepEqual(filtered.body.chunk.map((event: any) => event.type), Array(5).fill('m.room.message'));
  const bounded = await roomGet(server, alice, roomId, `messages?dir=b&from=${newest.body.start}&to=${older.body.end}`);
  assert.deepEqual(bodies(bounded.body.chunk), ['five', 'four', 'three', 'two']);
  for (const bad of ['dir=x', 'dir=b&from=garbage', 'dir=b&limit=-1', 'dir=b&filter=%7B']) {
    const result = await roomGet(server, alice, roomId, `messages?${bad}`);
    assert.equal(result.status, 400, `${bad}: ${JSON.stringify(result.body)}`);
  }
});

test('history visibility: joined hides history before the join; shared shows it; a leaver reads up to the leave', async () => {
  const joinedOnly = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
  const shared = await createRoom(server, alice, { preset: 'public_chat' });
  for (const roomId of [joinedOnly, shared]) await say(server, alice, roomId, 'before bob');
  const earlier = await say(server, alice, joinedOnly, 'also before bob');
  assert.equal((await roomGet(server, bob, joinedOnly, 'messages?dir=b')).status, 403, 'not a member yet');
  for (const roomId of [joinedOnly, shared]) {
    await roomPost(server, bob, roomId, 'join');
    await say(server, alice, roomId, 'after bob');
  }
  assert.deepEqual(bodies((await roomGet(server, bob, joinedOnly, 'messages?dir=b')).body.chunk), ['after bob']);
  assert.equal((await roomGet(server, bob, joinedOnly, `event/${encodeURIComponent(earlier)}`)).status, 404);
  assert.deepEqual(bodies((await roomGet(server, bob, shared, 'messages?dir=b')).body.chunk), ['after bob', 'before bob']);

  await roomPost(server, bob, shared, 'leave');
  await say(server, alice, shared, 'after bob left');
  assert.deepEqual(bodies((await roomGet(server, bob, shared, 'messages?dir=b')).body.chunk), ['after bob', 'before bob']);
  const oldestFirst = await roomGet(server, bob, shared, 'messages?dir=f&limit=7');
  assert.deepEqual(bodies(oldestFirst.body.chunk), ['before bob'], 'shared history before the join stays readable after leaving');
  const state = await roomGet(server, bob, shared, 'state/m.room.member/' + encodeURIComponent(bob.userId));
  assert.equal(state.body.membership, 'leave', 'a leaver sees the state as of the leave');
});

test('/context returns the event, its neighbours and the state at the end', async () => {
  const roomId = await createRoom(server, alice, { name: 'Context' });
  const ids: string[] = [];
  for (const body of ['c1', 'c2', 'c3', 'c4', 'c5']) ids.push(await say(server, alice, roomId, body));
  const result = await roomGet(server, alice, roomId, `context/${encodeURIComponent(ids[2])}?limit=4`);
  assert.equal(result.status, 200);
  await assertMatchesSpec({ method: 'GET', path: path(roomId, `context/${ids[2]}`), status: 200, body: result.body });
  assert.equal(result.body.event.content.body, 'c3');
  assert.deepEqual(bodies(result.body.events_before), ['c2', 'c1'], 'newest first');
  assert.deepEqual(bodies(result.body.events_after), ['c4', 'c5']);
  assert.ok(result.body.state.some((event: any) => event.type === 'm.room.name'));
  const older = await roomGet(server, alice, roomId, `messages?dir=b&limit=1&from=${result.body.start}`);
  assert.equal(older.body.chunk[0].type, 'm.room.name', 'start continues backwards from events_before');
  assert.equal((await roomGet(server, bob, roomId, `context/${encodeURIComponent(ids[2])}`)).status, 404, 'a non-member sees nothing');
});
