import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { waitFor } from '../support/wait-for.ts';
import { createRoom, putState, roomGet, roomPost, say, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const types = (events: any[]) => events.map((event) => event.type);
const bodies = (events: any[]) => events.filter((event) => event.type === 'm.room.message').map((event) => event.content.body);

test('initial sync: joined rooms with their timeline and the state before it', async () => {
  const roomId = await createRoom(server, alice, { name: 'Initial' });
  await say(server, alice, roomId, 'first');
  const body = await syncOnce(server, alice, { filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) });
  assert.match(body.next_batch, /^s\d+/);
  const room = body.rooms.join[roomId];
  assert.ok(room, 'the room is in rooms.join');
  assert.deepEqual(types(room.timeline.events), ['m.room.guest_access', 'm.room.name', 'm.room.message']);
  assert.equal(room.timeline.limited, true);
  assert.ok(types(room.state.events).includes('m.room.create'));
  assert.ok(!types(room.state.events).includes('m.room.name'), 'state is before the timeline; the name is in the timeline');
  assert.equal(room.summary['m.joined_member_count'], 1);
  assert.equal(room.timeline.events[2].room_id, undefined, 'sync events carry no room_id');

  const page = await roomGet(server, alice, roomId, `messages?dir=b&limit=2&from=${room.timeline.prev_batch}`);
  assert.deepEqual(types(page.body.chunk), ['m.room.history_visibility', 'm.room.join_rules'], 'prev_batch continues where the timeline starts');
});

test('incremental sync: only what changed; limited gaps carry the state that changed in them', async () => {
  const roomId = await createRoom(server, alice);
  const quiet = await createRoom(server, alice);
  const start = await syncOnce(server, alice);
  assert.ok(start.rooms.join[quiet]);

  await say(server, alice, roomId, 'one');
  const next = await syncOnce(server, alice, { since: start.next_batch });
  assert.deepEqual(Object.keys(next.rooms.join), [roomId], 'the quiet room is not repeated');
  assert.deepEqual(bodies(next.rooms.join[roomId].timeline.events), ['one']);
  assert.equal(next.rooms.join[roomId].timeline.limited, false);
  assert.deepEqual(next.rooms.join[roomId].state.events, []);

  await putState(server, alice, roomId, 'm.room.topic', '', { topic: 'changed in the gap' });
  for (const body of ['a', 'b', 'c', 'd']) await say(server, alice, roomId, body);
  const gap = await syncOnce(server, alice, { since: next.next_batch, filter: JSON.stringify({ room: { timeline: { limit: 2 } } }) });
  const room = gap.rooms.join[roomId];
  assert.deepEqual(bodies(room.timeline.events), ['c', 'd']);
  assert.equal(room.timeline.limited, true);
  assert.deepEqual(room.state.events.map((event: any) => [event.type, event.content.topic]), [['m.room.topic', 'changed in the gap']]);

  const full = await syncOnce(server, alice, { since: gap.next_batch, full_state: 'true' });
  assert.ok(full.rooms.join[quiet], 'full_state includes every joined room');
  assert.ok(types(full.rooms.join[roomId].state.events).includes('m.room.create'));
});

test('invites, joins and leaves move rooms between the sections', async () => {
  const roomId = await createRoom(server, alice, { name: 'Moves' });
  const start = await syncOnce(server, bob);
  await roomPost(server, alice, roomId, 'invite', { user_id: bob.userId });
  const invited = await syncOnce(server, bob, { since: start.next_batch });
  const inviteState = invited.rooms.invite[roomId].invite_state.events;
  assert.ok(inviteState.some((event: any) => event.type === 'm.room.name' && event.content.name === 'Moves'));
  assert.ok(inviteState.some((event: any) => event.type === 'm.room.member' && event.state_key === bob.userId && event.content.membership === 'invite'));

  await roomPost(server, bob, roomId, 'join');
  await say(server, alice, roomId, 'welcome');
  const joined = await syncOnce(server, bob, { since: invited.next_batch });
  assert.deepEqual(Object.keys(joined.rooms.invite), []);
  const room = joined.rooms.join[roomId];
  assert.ok(types(room.state.events).includes('m.room.create') || types(room.timeline.events).includes('m.room.create'), 'a newly joined room comes with its full state');
  assert.deepEqual(bodies(room.timeline.events), ['welcome']);

  await roomPost(server, alice, roomId, 'kick', { user_id: bob.userId, reason: 'bye' });
  await say(server, alice, roomId, 'after the kick');
  const left = await syncOnce(server, bob, { since: joined.next_batch });
  const leaveRoom = left.rooms.leave[roomId];
  assert.ok(leaveRoom, 'the room is in rooms.leave');
  const lastEvent = leaveRoom.timeline.events.at(-1);
  assert.equal(lastEvent.content.membership, 'leave');
  assert.ok(!bodies(leaveRoom.timeline.events).includes('after the kick'), 'nothing after the leave');
  assert.equal(left.rooms.join[roomId], undefined);
});

test('a long-poll wakes as soon as a message for the user is committed', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const start = await syncOnce(server, bob);
  const started = Date.now();
  const polling = syncOnce(server, bob, { since: start.next_batch, timeout: '30000' });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(bob.userId) > 0 ? true : undefined));
  await say(server, alice, roomId, 'wake up');
  const woken = await polling;
  assert.deepEqual(bodies(woken.rooms.join[roomId].timeline.events), ['wake up']);
  assert.ok(Date.now() - started < 30_000, 'answered before the timeout');
});

test('a long-poll with nothing new times out with an empty response and the same position', async () => {
  const start = await syncOnce(server, bob);
  const idle = await syncOnce(server, bob, { since: start.next_batch, timeout: '50' });
  assert.equal(idle.next_batch, start.next_batch);
  assert.deepEqual(idle.rooms.join, {});
});

test('malformed since and filter parameters are clear 400s', async () => {
  for (const since of ['garbage', 's', 's12_x', 's1_2_3_4_5_6_7_8_9', `s${'9'.repeat(30)}`]) {
    const path = `/_matrix/client/v3/sync?since=${encodeURIComponent(since)}`;
    const result = await request(server.url, 'GET', path, { token: alice.accessToken });
    await assertRefusal(result, { method: 'GET', path, status: 400, errcode: 'M_INVALID_PARAM', messageIncludes: 'since', checkSpec: false });
  }
  for (const filter of ['{not json', 'unknown-filter-id', JSON.stringify({ room: { timeline: { limit: -1 } } })]) {
    const path = `/_matrix/client/v3/sync?filter=${encodeURIComponent(filter)}`;
    const result = await request(server.url, 'GET', path, { token: alice.accessToken });
    await assertRefusal(result, { method: 'GET', path, status: 400, errcode: 'M_INVALID_PARAM', messageIncludes: 'filter', checkSpec: false });
  }
});

test('uploaded filters apply by ID', async () => {
  const roomId = await createRoom(server, alice);
  for (const body of ['x', 'y', 'z']) await say(server, alice, roomId, body);
  const created = await request(server.url, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/filter`, {
    token: alice.accessToken,
    body: { room: { timeline: { limit: 1 } } },
  });
  assert.equal(created.status, 200);
  const body = await syncOnce(server, alice, { filter: created.body.filter_id });
  assert.deepEqual(bodies(body.rooms.join[roomId].timeline.events), ['z']);
  const read = await request(server.url, 'GET', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/filter/${created.body.filter_id}`, { token: alice.accessToken });
  assert.deepEqual(read.body, { room: { timeline: { limit: 1 } } });
  const others = await request(server.url, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/filter`, { token: alice.accessToken, body: {} });
  assert.equal(others.status, 403);
});

test('a profile change in a joined room is not a new join: no full state again', async () => {
  const roomId = await createRoom(server, alice);
  const start = await syncOnce(server, alice);
  await putState(server, alice, roomId, 'm.room.member', alice.userId, { membership: 'join', displayname: 'Alice A.' });
  const next = await syncOnce(server, alice, { since: start.next_batch });
  const room = next.rooms.join[roomId];
  assert.deepEqual(room.state.events, []);
  assert.deepEqual(room.timeline.events.map((event: any) => event.content.displayname), ['Alice A.']);
  const { unsigned } = room.timeline.events[0];
  assert.equal(unsigned.prev_content.membership, 'join', 'the replaced state rides along as prev_content');
  assert.notEqual(unsigned.prev_content.displayname, 'Alice A.');
  assert.match(unsigned.replaces_state, /^\$/);
});

test('shutdown releases a parked long-poll at once', async () => {
  const own = await startTestServer();
  try {
    const carol = await registerUser(own.url, 'carol');
    const start = await syncOnce(own, carol);
    const polling = syncOnce(own, carol, { since: start.next_batch, timeout: '60000' });
    await waitFor('the long-poll to park', async () => (own.app.notifier.waitingFor(carol.userId) > 0 ? true : undefined));
    own.app.notifier.stop();
    const released = await polling;
    assert.equal(released.next_batch, start.next_batch);
  } finally {
    await own.stop();
  }
});
