import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomGet, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
  dave = await registerUser(server.url, 'dave');
});
after(() => server.stop());

const path = (roomId: string, rest: string) => `/_matrix/client/v3/rooms/${roomId}/${rest}`;
const memberKeys = (chunk: any[]) => chunk.map((event) => `${event.state_key}=${event.content.membership}`).sort();
const filterParam = (filter: unknown) => `filter=${encodeURIComponent(JSON.stringify(filter))}`;

test('members: membership and not_membership filter (together an "or"), `at` reads the members as of a token', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const beforeCarol = (await syncOnce(server, alice)).rooms.join[roomId].timeline.prev_batch as string;
  const atBobsJoin = (await roomGet(server, alice, roomId, 'messages?dir=b&limit=1')).body.start as string;
  await roomPost(server, carol, roomId, 'join');
  await roomPost(server, carol, roomId, 'leave');
  await roomPost(server, alice, roomId, 'invite', { user_id: dave.userId });

  const get = async (query: string) => {
    const result = await roomGet(server, alice, roomId, `members${query}`);
    assert.equal(result.status, 200, `${query}: ${JSON.stringify(result.body)}`);
    await assertMatchesSpec({ method: 'GET', path: path(roomId, 'members'), status: 200, body: result.body });
    return memberKeys(result.body.chunk);
  };
  const all = [`${alice.userId}=join`, `${bob.userId}=join`, `${carol.userId}=leave`, `${dave.userId}=invite`].sort();
  assert.deepEqual(await get(''), all);
  assert.deepEqual(await get('?membership=invite'), [`${dave.userId}=invite`]);
  assert.deepEqual(await get('?not_membership=join'), [`${carol.userId}=leave`, `${dave.userId}=invite`].sort());
  assert.deepEqual(await get('?membership=leave&not_membership=join'), [`${carol.userId}=leave`, `${dave.userId}=invite`].sort(), 'leave, or anything but join');
  assert.deepEqual(await get('?membership=join&not_membership=join'), all, 'join, or anything but join: everyone');
  assert.deepEqual(await get(`?at=${atBobsJoin}`), [`${alice.userId}=join`, `${bob.userId}=join`].sort(), 'a /messages token');
  assert.ok((await get(`?at=${encodeURIComponent(beforeCarol)}`)).every((entry) => !entry.startsWith(carol.userId)), 'a sync prev_batch');

  // Carol left: she sees the members as of her leave, not Dave's later invite.
  const carolsView = await roomGet(server, carol, roomId, 'members');
  assert.equal(carolsView.status, 200);
  assert.deepEqual(memberKeys(carolsView.body.chunk), [`${alice.userId}=join`, `${bob.userId}=join`, `${carol.userId}=leave`].sort());

  const stranger = await registerUser(server.url, 'stranger-members');
  await assertRefusal(await roomGet(server, stranger, roomId, 'members'), { method: 'GET', path: path(roomId, 'members'), status: 403, errcode: 'M_FORBIDDEN' });
  for (const bad of ['membership=joined', 'not_membership=x', 'at=nonsense']) {
    const result = await roomGet(server, alice, roomId, `members?${bad}`);
    await assertRefusal(result, { method: 'GET', path: path(roomId, 'members'), status: 400, errcode: 'M_INVALID_PARAM', checkSpec: false });
  }
});

test('joined_members: profiles of joined members only, for members only; joined_rooms lists joined rooms only', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const other = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await roomPost(server, bob, other, 'join');
  await roomPost(server, bob, other, 'leave');
  await roomPost(server, alice, roomId, 'invite', { user_id: carol.userId });
  const joined = await roomGet(server, bob, roomId, 'joined_members');
  assert.equal(joined.status, 200);
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'joined_members'), status: 200, body: joined.body });
  assert.deepEqual(Object.keys(joined.body.joined).sort(), [alice.userId, bob.userId].sort(), 'the invitee is not joined');
  await assertRefusal(await roomGet(server, carol, roomId, 'joined_members'), { method: 'GET', path: path(roomId, 'joined_members'), status: 403, errcode: 'M_FORBIDDEN' });
  await assertRefusal(await roomGet(server, bob, other, 'joined_members'), { method: 'GET', path: path(other, 'joined_members'), status: 403, errcode: 'M_FORBIDDEN' });
  const rooms = await request(server.url, 'GET', '/_matrix/client/v3/joined_rooms', { token: bob.accessToken });
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/joined_rooms', status: 200, body: rooms.body });
  assert.ok(rooms.body.joined_rooms.includes(roomId) && !rooms.body.joined_rooms.includes(other), 'a left room is not listed');
  assert.ok(!(await request(server.url, 'GET', '/_matrix/client/v3/joined_rooms', { token: carol.accessToken })).body.joined_rooms.includes(roomId), 'nor an invite');
});

test('/messages filters: wildcard types, not_types, senders, not_senders, contains_url, filter limit, rooms', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await say(server, alice, roomId, 'a1');
  await sendMessage(server, bob, roomId, { msgtype: 'm.image', body: 'pic', url: 'mxc://localhost/abc' });
  await sendMessage(server, bob, roomId, { note: 'custom' }, 'custom-1', 'org.example.note');
  await say(server, bob, roomId, 'b2');
  const page = async (filter: unknown) => {
    const result = await roomGet(server, alice, roomId, `messages?dir=b&limit=50&${filterParam(filter)}`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'GET', path: path(roomId, 'messages'), status: 200, body: result.body });
    return result.body;
  };
  const describe = (chunk: any[]) => chunk.map((event) => event.content.body ?? event.content.note ?? event.type);
  assert.deepEqual(describe((await page({ types: ['org.example.*'] })).chunk), ['custom']);
  assert.deepEqual(describe((await page({ types: ['m.room.message'], senders: [bob.userId] })).chunk), ['b2', 'pic']);
  assert.deepEqual(describe((await page({ types: ['m.room.message'], not_senders: [bob.userId] })).chunk), ['a1']);
  assert.deepEqual(describe((await page({ not_types: ['m.room.*', 'org.example.note'] })).chunk), []);
  assert.deepEqual(describe((await page({ contains_url: true })).chunk), ['pic']);
  assert.ok(!describe((await page({ contains_url: false, types: ['m.room.message'] })).chunk).includes('pic'));
  assert.deepEqual(describe((await page({ types: [] })).chunk), [], 'an empty types list matches nothing');
  assert.deepEqual(describe((await page({ types: ['m.room.message'], limit: 1 })).chunk), ['b2'], 'the filter limit caps the page');
  assert.deepEqual((await page({ not_rooms: [roomId] })).chunk, []);
  const capped = await roomGet(server, alice, roomId, `messages?dir=b&limit=1&${filterParam({ types: ['m.room.message'], limit: 5 })}`);
  assert.deepEqual(describe(capped.body.chunk), ['b2'], 'the query limit caps too');
  for (const bad of [{ types: 'm.room.message' }, { contains_url: 'yes' }, { limit: 0 }, { senders: Array(101).fill('@x:localhost') }]) {
    const result = await roomGet(server, alice, roomId, `messages?dir=b&${filterParam(bad)}`);
    await assertRefusal(result, { method: 'GET', path: path(roomId, 'messages'), status: 400, errcode: 'M_INVALID_PARAM', checkSpec: false });
  }
});

test('/messages lazy_load_members: state carries the member events of the chunk\'s senders only', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  for (const user of [bob, carol]) await roomPost(server, user, roomId, 'join');
  await say(server, bob, roomId, 'from bob');
  await say(server, alice, roomId, 'from alice');
  const result = await roomGet(server, dave, roomId, 'messages?dir=b');
  assert.equal(result.status, 403, 'not a member');
  const loaded = await roomGet(server, carol, roomId, `messages?dir=b&limit=2&${filterParam({ lazy_load_members: true })}`);
  assert.equal(loaded.status, 200);
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'messages'), status: 200, body: loaded.body });
  assert.deepEqual(loaded.body.state.map((event: any) => event.state_key).sort(), [alice.userId, bob.userId].sort());
  assert.ok(loaded.body.state.every((event: any) => event.type === 'm.room.member' && event.content.membership === 'join'));
  const plain = await roomGet(server, carol, roomId, 'messages?dir=b&limit=2');
  assert.equal(plain.body.state, undefined, 'no state without lazy loading');
});

test('/context applies the filter to its events and state; lazy_load_members keeps only the senders\' member events', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Ctx' });
  for (const user of [bob, carol]) await roomPost(server, user, roomId, 'join');
  await say(server, bob, roomId, 'bob before');
  await sendMessage(server, carol, roomId, { note: 'n' }, 'ctx-note', 'org.example.note');
  const target = await say(server, alice, roomId, 'target');
  await say(server, bob, roomId, 'bob after');
  const context = async (query: string) => {
    const result = await roomGet(server, alice, roomId, `context/${encodeURIComponent(target)}?${query}`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'GET', path: path(roomId, `context/${target}`), status: 200, body: result.body });
    return result.body;
  };
  const typed = await context(`limit=4&${filterParam({ types: ['m.room.message', 'm.room.member'] })}`);
  assert.deepEqual(typed.events_before.map((event: any) => event.content.body ?? event.content.membership), ['bob before', 'join']);
  assert.ok(typed.state.every((event: any) => event.type === 'm.room.message' || event.type === 'm.room.member'), 'state filtered by type');
  assert.equal(typed.event.content.body, 'target', 'the event itself is never filtered');

  const lazy = await context(`limit=2&${filterParam({ lazy_load_members: true })}`);
  const members = lazy.state.filter((event: any) => event.type === 'm.room.member').map((event: any) => event.state_key).sort();
  const senders = [lazy.event, ...lazy.events_before, ...lazy.events_after].map((event: any) => event.sender);
  assert.deepEqual(members, [...new Set(senders)].sort());
  assert.ok(!members.includes(carol.userId) || senders.includes(carol.userId));
  assert.ok(lazy.state.some((event: any) => event.type === 'm.room.name'), 'other state stays');

  const zero = await context('limit=0');
  assert.deepEqual([zero.events_before, zero.events_after], [[], []]);
  for (const bad of ['limit=-1', 'limit=x', `filter=${encodeURIComponent('{')}`]) {
    const result = await roomGet(server, alice, roomId, `context/${encodeURIComponent(target)}?${bad}`);
    assert.equal(result.status, 400, bad);
  }
});

test('state, members and messages after a name change by another member reflect the change', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  assert.equal((await putState(server, alice, roomId, 'm.room.name', '', { name: 'N2' })).status, 200);
  const state = await roomGet(server, bob, roomId, 'state');
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'state'), status: 200, body: state.body });
  const name = state.body.find((event: any) => event.type === 'm.room.name');
  assert.equal(name.content.name, 'N2');
});
