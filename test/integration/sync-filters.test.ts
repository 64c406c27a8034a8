import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
});
after(() => server.stop());

const filterOf = (filter: unknown) => ({ filter: JSON.stringify(filter) });
const bodies = (events: any[]) => events.filter((event) => event.type === 'm.room.message').map((event) => event.content.body);
const memberKeys = (events: any[]) => events.filter((event) => event.type === 'm.room.member').map((event) => event.state_key).sort();

/** A public room alice made that bob and carol joined. */
async function roomOfThree(): Promise<string> {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  for (const user of [bob, carol]) assert.equal((await roomPost(server, user, roomId, 'join')).status, 200);
  return roomId;
}

test('room.timeline types, not_types, senders, not_senders and contains_url choose the timeline events', async () => {
  const roomId = await roomOfThree();
  await say(server, alice, roomId, 'from alice');
  await say(server, bob, roomId, 'from bob');
  await sendMessage(server, bob, roomId, { msgtype: 'm.image', body: 'picture', url: 'mxc://example.org/abc' });
  await sendMessage(server, carol, roomId, { note: 'custom' }, undefined, 'org.example.note');
  const timeline = async (filter: Record<string, unknown>) => {
    const body = await syncOnce(server, alice, filterOf({ room: { rooms: [roomId], timeline: { limit: 50, ...filter } } }));
    return body.rooms.join[roomId]?.timeline.events ?? [];
  };
  assert.deepEqual(bodies(await timeline({ types: ['m.room.message'], senders: [bob.userId] })), ['from bob', 'picture']);
  assert.deepEqual(bodies(await timeline({ types: ['m.room.mess*'], not_senders: [bob.userId] })), ['from alice']);
  assert.deepEqual(bodies(await timeline({ types: ['m.room.message'], contains_url: true })), ['picture']);
  assert.deepEqual(bodies(await timeline({ types: ['m.room.message'], contains_url: false })), ['from alice', 'from bob']);
  const notTypes = await timeline({ not_types: ['m.room.*'] });
  assert.deepEqual(notTypes.map((event: any) => event.type), ['org.example.note']);
  assert.deepEqual(await timeline({ types: [] }), [], 'an empty types list lets nothing through');
});

test('a filtered timeline loses no state change, and a room whose new events are all filtered out is left out', async () => {
  const roomId = await roomOfThree();
  const filter = { room: { timeline: { types: ['m.room.message'] } } };
  const start = await syncOnce(server, alice, filterOf(filter));
  const initial = start.rooms.join[roomId];
  assert.ok(initial.state.events.some((event: any) => event.type === 'm.room.member' && event.state_key === carol.userId), 'initial state is the room state beside the filtered timeline');

  assert.equal((await putState(server, alice, roomId, 'm.room.topic', '', { topic: 'not in the timeline' })).status, 200);
  const topicOnly = await syncOnce(server, alice, { since: start.next_batch, ...filterOf({ room: { timeline: { types: ['m.room.message'] }, state: { types: ['m.room.topic'] } } }) });
  assert.deepEqual(topicOnly.rooms.join[roomId].timeline.events, []);
  assert.deepEqual(
    topicOnly.rooms.join[roomId].state.events.map((event: any) => [event.type, event.content.topic]),
    [['m.room.topic', 'not in the timeline']],
  );

  await sendMessage(server, carol, roomId, { note: 'filtered' }, undefined, 'org.example.note');
  const quiet = await syncOnce(server, alice, { since: topicOnly.next_batch, timeout: '0', ...filterOf(filter) });
  assert.equal(quiet.rooms.join[roomId], undefined, 'nothing the filter lets through happened');
});

test('lazy_load_members: only the timeline senders and the user, each member sent once per device', async () => {
  const roomId = await roomOfThree();
  await say(server, bob, roomId, 'bob speaks');
  const lazy = { room: { rooms: [roomId], timeline: { limit: 1 }, state: { lazy_load_members: true } } };
  const initial = await syncOnce(server, alice, filterOf(lazy));
  assert.deepEqual(memberKeys(initial.rooms.join[roomId].state.events), [alice.userId, bob.userId].sort(), 'carol sent nothing in the timeline');
  assert.ok(initial.rooms.join[roomId].state.events.some((event: any) => event.type === 'm.room.create'), 'other state is untouched');

  // Without lazy loading the whole member list comes.
  const eager = await syncOnce(server, alice, filterOf({ room: { rooms: [roomId], timeline: { limit: 1 } } }));
  assert.deepEqual(memberKeys(eager.rooms.join[roomId].state.events), [alice.userId, bob.userId, carol.userId].sort());

  await say(server, bob, roomId, 'bob again');
  await say(server, carol, roomId, 'carol speaks');
  const next = await syncOnce(server, alice, { since: initial.next_batch, ...filterOf({ ...lazy, room: { ...lazy.room, timeline: { limit: 10 } } }) });
  assert.deepEqual(bodies(next.rooms.join[roomId].timeline.events), ['bob again', 'carol speaks']);
  assert.deepEqual(memberKeys(next.rooms.join[roomId].state.events), [carol.userId], 'bob and alice were sent already; carol is new');

  // A retried request (same since) must not lose carol: the device never confirmed that response.
  const retried = await syncOnce(server, alice, { since: initial.next_batch, ...filterOf({ ...lazy, room: { ...lazy.room, timeline: { limit: 10 } } }) });
  assert.deepEqual(memberKeys(retried.rooms.join[roomId].state.events), [carol.userId]);

  await say(server, carol, roomId, 'carol again');
  const after = await syncOnce(server, alice, { since: next.next_batch, ...filterOf(lazy) });
  assert.deepEqual(memberKeys(after.rooms.join[roomId].state.events), [], 'carol was sent in the previous response');

  const redundant = await syncOnce(server, alice, { since: next.next_batch, ...filterOf({ room: { ...lazy.room, state: { lazy_load_members: true, include_redundant_members: true } } }) });
  assert.deepEqual(memberKeys(redundant.rooms.join[roomId].state.events), [alice.userId, carol.userId].sort(), 'include_redundant_members resends them');

  // A changed member event is new to the device and is sent again.
  await request(server.url, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(carol.userId)}/displayname`, { token: carol.accessToken, body: { displayname: 'Carol C' } });
  await say(server, carol, roomId, 'renamed');
  const renamed = await syncOnce(server, alice, { since: after.next_batch, ...filterOf({ room: { ...lazy.room, timeline: { limit: 1 } } }) });
  const carolMember = renamed.rooms.join[roomId].state.events.find((event: any) => event.type === 'm.room.member' && event.state_key === carol.userId);
  assert.equal(carolMember?.content.displayname, 'Carol C');
});

test('lazy loading is per device: another device of the user gets the members again', async () => {
  const roomId = await roomOfThree();
  await say(server, carol, roomId, 'hello');
  const lazy = filterOf({ room: { rooms: [roomId], timeline: { limit: 1 }, state: { lazy_load_members: true } } });
  const first = await syncOnce(server, alice, lazy);
  await say(server, carol, roomId, 'again');
  assert.deepEqual(memberKeys((await syncOnce(server, alice, { since: first.next_batch, ...lazy })).rooms.join[roomId].state.events), []);

  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: alice.password },
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const otherDevice = { ...alice, accessToken: login.body.access_token };
  const fromOther = await syncOnce(server, otherDevice, { since: first.next_batch, ...lazy });
  assert.deepEqual(memberKeys(fromOther.rooms.join[roomId].state.events), [alice.userId, carol.userId].sort());
});

test('room.rooms, not_rooms and include_leave choose the rooms', async () => {
  const kept = await createRoom(server, bob);
  const dropped = await createRoom(server, bob);
  const left = await createRoom(server, bob);
  assert.equal((await roomPost(server, bob, left, 'leave')).status, 200);
  const join = async (filter: Record<string, unknown>) => Object.keys((await syncOnce(server, bob, filterOf({ room: filter }))).rooms.join);
  assert.deepEqual(await join({ rooms: [kept, dropped] , not_rooms: [dropped] }), [kept], 'not_rooms wins over rooms');
  assert.ok(!(await join({ not_rooms: [kept] })).includes(kept));
  assert.equal((await syncOnce(server, bob)).rooms.leave[left], undefined, 'left rooms are not in an initial sync by default');
  assert.ok((await syncOnce(server, bob, filterOf({ room: { include_leave: true } }))).rooms.leave[left]);
});

test('malformed timeline and state filters are refused with the field named', async () => {
  const filters = [
    { room: { timeline: { types: 'm.room.message' } } },
    { room: { timeline: { senders: [42] } } },
    { room: { timeline: { contains_url: 'yes' } } },
    { room: { timeline: { unread_thread_notifications: 1 } } },
    { room: { state: { lazy_load_members: 'true' } } },
    { room: { state: { include_redundant_members: null } } },
    { room: { state: { not_types: Array.from({ length: 101 }, (_, i) => `t${i}`) } } },
  ];
  for (const filter of filters) {
    const path = `/_matrix/client/v3/sync?filter=${encodeURIComponent(JSON.stringify(filter))}`;
    const result = await request(server.url, 'GET', path, { token: alice.accessToken });
    await assertRefusal(result, { method: 'GET', path, status: 400, errcode: 'M_INVALID_PARAM', messageIncludes: 'room.', checkSpec: false });
  }
  const upload = await request(server.url, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/filter`, { token: alice.accessToken, body: { room: { state: { lazy_load_members: 'yes' } } } });
  assert.equal(upload.status, 400, JSON.stringify(upload.body));
});
