// Complement's room scenarios (tests/csapi/apidoc_room_*_test.go, rooms_*,
// room_*, power_levels, txnid, redact, invalid): each test is named after the
// Complement test function and each subtest after its t.Run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { clientOf, expectStatus, loginAs, seg } from '../support/complement.ts';
import { createRoom, say, sendMessage, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let charlie: TestUser;
before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice', { password: 'alice-pw' });
  bob = await registerUser(server.url, 'bob', { password: 'bob-pw' });
  charlie = await registerUser(server.url, 'charlie');
});
after(() => server.stop());

const as = (user: TestUser) => clientOf(server, user);
const room = (roomId: string, rest: string) => `v3/rooms/${seg(roomId)}/${rest}`;
const join = async (user: TestUser, roomIdOrAlias: string, body: unknown = {}) => expectStatus(await as(user).post(`v3/join/${seg(roomIdOrAlias)}`, body), 200);
const leave = async (user: TestUser, roomId: string) => expectStatus(await as(user).post(room(roomId, 'leave')), 200);
const invite = async (by: TestUser, roomId: string, userId: string) => expectStatus(await as(by).post(room(roomId, 'invite'), { user_id: userId }), 200);
const stateContent = async (user: TestUser, roomId: string, type: string, key = '') => {
  const result = await as(user).get(room(roomId, `state/${type}/${seg(key)}`));
  expectStatus(result, 200);
  return result.body;
};
const putState = async (user: TestUser, roomId: string, type: string, key: string, content: unknown) => {
  const result = await as(user).put(room(roomId, `state/${type}/${seg(key)}`), content);
  expectStatus(result, 200);
  return result.body.event_id as string;
};
const timelineOf = (sync: any, roomId: string, section = 'join') => sync.rooms?.[section]?.[roomId]?.timeline?.events ?? [];

test('TestRoomCreate', async (t) => {
  const client = as(alice);
  await t.test('POST /createRoom makes a public room', async () => {
    const result = await client.post('v3/createRoom', { visibility: 'public', room_alias_name: 'public_room_alias' });
    expectStatus(result, 200);
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/createRoom', status: 200, body: result.body });
    assert.equal((await stateContent(alice, result.body.room_id, 'm.room.join_rules')).join_rule, 'public');
  });
  await t.test('POST /createRoom makes a private room', async () => {
    const result = await client.post('v3/createRoom', { visibility: 'private' });
    expectStatus(result, 200);
    assert.equal((await stateContent(alice, result.body.room_id, 'm.room.join_rules')).join_rule, 'invite');
  });
  await t.test('POST /createRoom makes a room with a topic', async () => {
    const roomId = await createRoom(server, alice, { topic: 'Test Room' });
    assert.equal((await stateContent(alice, roomId, 'm.room.topic')).topic, 'Test Room');
  });
  await t.test('POST /createRoom makes a room with a topic and writes rich topic representation', async () => {
    const roomId = await createRoom(server, alice, { topic: 'Test Room' });
    const content = await stateContent(alice, roomId, 'm.room.topic');
    assert.deepEqual(content['m.topic'], { 'm.text': [{ body: 'Test Room', mimetype: 'text/plain' }] });
  });
  await t.test('POST /createRoom makes a room with a topic via initial_state', async () => {
    const roomId = await createRoom(server, alice, { initial_state: [{ type: 'm.room.topic', state_key: '', content: { topic: 'Test Room' } }] });
    assert.equal((await stateContent(alice, roomId, 'm.room.topic')).topic, 'Test Room');
  });
  await t.test('POST /createRoom makes a room with a topic via initial_state overwritten by topic', async () => {
    const roomId = await createRoom(server, alice, { topic: 'Test Room', initial_state: [{ type: 'm.room.topic', state_key: '', content: { topic: 'Shenanigans' } }] });
    assert.equal((await stateContent(alice, roomId, 'm.room.topic')).topic, 'Test Room');
  });
  await t.test('POST /createRoom makes a room with a name', async () => {
    const roomId = await createRoom(server, alice, { name: 'Test Room' });
    assert.equal((await stateContent(alice, roomId, 'm.room.name')).name, 'Test Room');
  });
  await t.test('POST /createRoom creates a room with the given version', async () => {
    const roomId = await createRoom(server, alice, { room_version: '10' });
    assert.equal((await stateContent(alice, roomId, 'm.room.create')).room_version, '10');
  });
  await t.test('POST /createRoom makes a private room with invites', async () => {
    const roomId = await createRoom(server, alice, { visibility: 'private', invite: [bob.userId] });
    const sync = await syncOnce(server, bob, { timeout: '0' });
    assert.ok(sync.rooms.invite[roomId]);
  });
  await t.test('POST /createRoom rejects attempts to create rooms with numeric versions', async () => {
    expectStatus(await client.post('v3/createRoom', { room_version: 1 }), 400, 'M_BAD_JSON');
  });
  await t.test('POST /createRoom rejects attempts to create rooms with unknown versions', async () => {
    expectStatus(await client.post('v3/createRoom', { room_version: 'ahfgwjyerhgiuveisbruvybseyrugvi' }), 400, 'M_UNSUPPORTED_ROOM_VERSION');
  });
  await t.test('Rooms can be created with an initial invite list (SYN-205)', async () => {
    const roomId = await createRoom(server, alice, { invite: [charlie.userId] });
    const sync = await syncOnce(server, charlie, { timeout: '0' });
    assert.ok(sync.rooms.invite[roomId]);
  });
  await t.test('Can /sync newly created room', async () => {
    const roomId = await createRoom(server, alice);
    const sync = await syncOnce(server, alice, { timeout: '0' });
    assert.ok(sync.rooms.join[roomId]);
  });
  await t.test('POST /createRoom ignores attempts to set the room version via creation_content', async () => {
    const roomId = await createRoom(server, alice, { creation_content: { test: 'azerty', room_version: '1' } });
    const create = await stateContent(alice, roomId, 'm.room.create');
    assert.equal(create.test, 'azerty');
    assert.notEqual(create.room_version, '1');
  });
});

test('TestRoomState', async (t) => {
  const roomId = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat', room_alias_name: 'state_alias', name: 'state room' });
  await t.test('GET /rooms/:room_id/state/m.room.member/:user_id fetches my membership', async () => {
    assert.equal((await stateContent(alice, roomId, 'm.room.member', alice.userId)).membership, 'join');
  });
  await t.test('GET /rooms/:room_id/state/m.room.member/:user_id?format=event fetches my membership event', async () => {
    const result = await as(alice).get(room(roomId, `state/m.room.member/${seg(alice.userId)}?format=event`));
    expectStatus(result, 200);
    assert.equal(result.body.sender, alice.userId);
    assert.equal(result.body.room_id, roomId);
    assert.equal(result.body.content.membership, 'join');
  });
  await t.test('GET /rooms/:room_id/state/m.room.power_levels fetches powerlevels', async () => {
    const content = await stateContent(alice, roomId, 'm.room.power_levels');
    for (const key of ['ban', 'kick', 'redact', 'users_default', 'state_default', 'events_default', 'users', 'events']) assert.ok(key in content, key);
  });
  await t.test('GET /rooms/:room_id/joined_members fetches my membership', async () => {
    const result = await as(alice).get(room(roomId, 'joined_members'));
    expectStatus(result, 200);
    assert.deepEqual(Object.keys(result.body.joined), [alice.userId]);
  });
  await t.test('GET /publicRooms lists newly-created room', async () => {
    const result = await as(alice).get('v3/publicRooms');
    expectStatus(result, 200);
    assert.ok(result.body.chunk.some((r: any) => r.room_id === roomId));
  });
  await t.test('GET /directory/room/:room_alias yields room ID', async () => {
    const result = await as(alice).get(`v3/directory/room/${seg('#state_alias:localhost')}`);
    expectStatus(result, 200);
    assert.equal(result.body.room_id, roomId);
  });
  await t.test('GET /joined_rooms lists newly-created room', async () => {
    assert.ok((await as(alice).get('v3/joined_rooms')).body.joined_rooms.includes(roomId));
  });
  await t.test('GET /rooms/:room_id/state/m.room.name gets name', async () => {
    assert.equal((await stateContent(alice, roomId, 'm.room.name')).name, 'state room');
  });
  await t.test('POST /rooms/:room_id/state/m.room.name sets name', async () => {
    await putState(alice, roomId, 'm.room.name', '', { name: 'Room Name Here' });
    assert.equal((await stateContent(alice, roomId, 'm.room.name')).name, 'Room Name Here');
  });
  await t.test('GET /rooms/:room_id/state/m.room.topic gets topic', async () => {
    const topicRoom = await createRoom(server, alice, { topic: 'Test Topic' });
    assert.equal((await stateContent(alice, topicRoom, 'm.room.topic')).topic, 'Test Topic');
  });
  await t.test('PUT /rooms/:room_id/state/m.room.topic sets topic', async () => {
    await putState(alice, roomId, 'm.room.topic', '', { topic: 'Test Topic' });
    assert.equal((await stateContent(alice, roomId, 'm.room.topic')).topic, 'Test Topic');
  });
  await t.test('GET /rooms/:room_id/state fetches entire room state', async () => {
    const result = await as(alice).get(room(roomId, 'state'));
    expectStatus(result, 200);
    const types = new Set(result.body.map((e: any) => e.type));
    for (const type of ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.power_levels', 'm.room.topic', 'm.room.member']) assert.ok(types.has(type), type);
  });
  await t.test('PUT /createRoom with creation content', async () => {
    const created = await createRoom(server, alice, { creation_content: { 'm.federate': false } });
    assert.equal((await stateContent(alice, created, 'm.room.create'))['m.federate'], false);
  });
  await t.test('GET /rooms/:room_id/joined_members is forbidden after leaving room', async () => {
    const left = await createRoom(server, alice);
    await leave(alice, left);
    expectStatus(await as(alice).get(room(left, 'joined_members')), 403, 'M_FORBIDDEN');
  });
});

test('TestRoomMembers', async (t) => {
  await t.test('POST /rooms/:room_id/join can join a room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    const result = await as(bob).post(room(roomId, 'join'));
    expectStatus(result, 200);
    assert.equal(result.body.room_id, roomId);
    assert.equal((await stateContent(bob, roomId, 'm.room.member', bob.userId)).membership, 'join');
  });
  await t.test('POST /join/:room_alias can join a room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat', room_alias_name: 'join_by_alias' });
    const result = await as(bob).post(`v3/join/${seg('#join_by_alias:localhost')}`);
    expectStatus(result, 200);
    assert.equal(result.body.room_id, roomId);
  });
  await t.test('POST /join/:room_id can join a room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    assert.equal((await stateContent(bob, roomId, 'm.room.member', bob.userId)).membership, 'join');
  });
  await t.test('Test that we can be reinvited to a room we created', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    expectStatus(await as(alice).put(room(roomId, 'state/m.room.power_levels/'), { ...(await stateContent(alice, roomId, 'm.room.power_levels')), users: { [alice.userId]: 100, [bob.userId]: 100 } }), 200);
    await leave(alice, roomId);
    await invite(bob, roomId, alice.userId);
    await join(alice, roomId);
  });
  await t.test('POST /join/:room_id can join a room with custom content', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId, { foo: 'bar' });
    const member = await stateContent(bob, roomId, 'm.room.member', bob.userId);
    assert.equal(member.foo, 'bar');
    assert.equal(member.membership, 'join');
  });
  await t.test('POST /join/:room_alias can join a room with custom content', async () => {
    await createRoom(server, alice, { preset: 'public_chat', room_alias_name: 'custom_content' });
    const result = await as(bob).post(`v3/join/${seg('#custom_content:localhost')}`, { foo: 'bar' });
    expectStatus(result, 200);
    assert.equal((await stateContent(bob, result.body.room_id, 'm.room.member', bob.userId)).foo, 'bar');
  });
  await t.test('POST /rooms/:room_id/ban can ban a user', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(alice).post(room(roomId, 'ban'), { user_id: bob.userId, reason: 'Testing' }), 200);
    const member = await stateContent(alice, roomId, 'm.room.member', bob.userId);
    assert.equal(member.membership, 'ban');
    assert.equal(member.reason, 'Testing');
  });
  await t.test('POST /rooms/:room_id/invite can send an invite', async () => {
    const roomId = await createRoom(server, alice);
    await invite(alice, roomId, bob.userId);
    assert.equal((await stateContent(alice, roomId, 'm.room.member', bob.userId)).membership, 'invite');
  });
  await t.test('POST /rooms/:room_id/leave can leave a room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await leave(bob, roomId);
    assert.equal((await stateContent(alice, roomId, 'm.room.member', bob.userId)).membership, 'leave');
  });
});

test('TestRoomsInvite', async (t) => {
  await t.test('Can invite users to invite-only rooms', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
  });
  await t.test('Uninvited users cannot join the room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    expectStatus(await as(bob).post(`v3/join/${seg(roomId)}`), 403, 'M_FORBIDDEN');
  });
  await t.test('Invited user can reject invite', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await leave(bob, roomId);
    assert.equal((await stateContent(alice, roomId, 'm.room.member', bob.userId)).membership, 'leave');
  });
  await t.test('Invited user can reject invite for empty room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await leave(alice, roomId);
    await leave(bob, roomId);
    const sync = await syncOnce(server, bob, { timeout: '0' });
    assert.equal(sync.rooms?.invite?.[roomId], undefined);
  });
  await t.test('Users cannot invite themselves to a room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    expectStatus(await as(alice).post(room(roomId, 'invite'), { user_id: alice.userId }), 403, 'M_FORBIDDEN');
  });
  await t.test('Users cannot invite a user that is already in the room', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(alice).post(room(roomId, 'invite'), { user_id: bob.userId }), 403, 'M_FORBIDDEN');
  });
  await t.test('Invited user can see room metadata', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat', name: 'Invites room', initial_state: [{ type: 'm.room.avatar', state_key: '', content: { url: 'mxc://example.org/abc' } }] });
    await invite(alice, roomId, bob.userId);
    const sync = await syncOnce(server, bob, { timeout: '0' });
    const stripped = sync.rooms.invite[roomId].invite_state.events;
    assert.equal(stripped.find((e: any) => e.type === 'm.room.name')?.content.name, 'Invites room');
    assert.equal(stripped.find((e: any) => e.type === 'm.room.avatar')?.content.url, 'mxc://example.org/abc');
  });
  await t.test('Test that we can be reinvited to a room we created', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    const levels = await stateContent(alice, roomId, 'm.room.power_levels');
    await putState(alice, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [bob.userId]: 100 } });
    await leave(alice, roomId);
    await invite(bob, roomId, alice.userId);
    await join(alice, roomId);
  });
});

test('TestRoomForget', async (t) => {
  await t.test("Can't forget room you're still in", async () => {
    const roomId = await createRoom(server, alice);
    expectStatus(await as(alice).post(room(roomId, 'forget')), 400);
  });
  await t.test('Forgotten room messages cannot be paginated', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await leave(alice, roomId);
    expectStatus(await as(alice).post(room(roomId, 'forget')), 200);
    expectStatus(await as(alice).get(room(roomId, 'messages?dir=b')), 403, 'M_FORBIDDEN');
  });
  const includeLeave = JSON.stringify({ room: { include_leave: true } });
  await t.test('Forgetting room does not show up in v2 initial /sync', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await leave(alice, roomId);
    expectStatus(await as(alice).post(room(roomId, 'forget')), 200);
    const sync = await syncOnce(server, alice, { filter: includeLeave, timeout: '0' });
    assert.equal(sync.rooms?.leave?.[roomId], undefined);
    assert.equal(sync.rooms?.join?.[roomId], undefined);
  });
  await t.test('Leave for forgotten room shows up in v2 incremental /sync', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await say(server, alice, roomId, 'Hello world!');
    const beforeLeave = (await syncOnce(server, alice, { timeout: '0' })).next_batch;
    await leave(alice, roomId);
    expectStatus(await as(alice).post(room(roomId, 'forget')), 200);
    await say(server, bob, roomId, 'Hello world!');
    const incremental = await syncOnce(server, alice, { filter: includeLeave, since: beforeLeave, timeout: '0' });
    assert.ok(incremental.rooms?.leave?.[roomId], 'the leave reaches devices that synced before it');
    assert.deepEqual(timelineOf(incremental, roomId, 'leave'), [], 'but none of the forgotten history');
    const after = await syncOnce(server, alice, { filter: includeLeave, since: incremental.next_batch, timeout: '0' });
    assert.equal(after.rooms?.leave?.[roomId], undefined, 'and only once');
    const initial = await syncOnce(server, alice, { filter: includeLeave, timeout: '0' });
    assert.equal(initial.rooms?.leave?.[roomId], undefined, 'never in an initial sync');
  });
  await t.test("Can forget room you've been kicked from", async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(alice).post(room(roomId, 'kick'), { user_id: bob.userId }), 200);
    expectStatus(await as(bob).post(room(roomId, 'forget')), 200);
  });
  await t.test('Can re-join room if re-invited', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    await leave(bob, roomId);
    expectStatus(await as(bob).post(room(roomId, 'forget')), 200);
    expectStatus(await as(bob).post(`v3/join/${seg(roomId)}`), 403, 'M_FORBIDDEN');
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    expectStatus(await as(bob).get(room(roomId, 'messages?dir=b')), 200);
  });
  await t.test("Can forget room we weren't an actual member", async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await invite(alice, roomId, bob.userId);
    await leave(bob, roomId);
    expectStatus(await as(bob).post(room(roomId, 'forget')), 200);
    await leave(alice, roomId);
    expectStatus(await as(alice).post(room(roomId, 'forget')), 200);
  });
});

test('TestFetchEvent and history visibility', async (t) => {
  const withVisibility = (visibility: string) => createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: visibility } }] });
  const fetchAs = (user: TestUser, roomId: string, eventId: string) => as(user).get(room(roomId, `event/${seg(eventId)}`));
  await t.test('TestFetchEvent', async () => {
    const roomId = await withVisibility('shared');
    await join(bob, roomId);
    const eventId = await say(server, alice, roomId, 'Hello world');
    const result = await fetchAs(bob, roomId, eventId);
    expectStatus(result, 200);
    assert.equal(result.body.content.body, 'Hello world');
    assert.equal(result.body.event_id, eventId);
  });
  await t.test('TestFetchHistoricalJoinedEventDenied', async () => {
    const roomId = await withVisibility('joined');
    const eventId = await say(server, alice, roomId, 'Hello world');
    await join(bob, roomId);
    expectStatus(await fetchAs(bob, roomId, eventId), 404);
  });
  await t.test('TestFetchHistoricalSharedEvent', async () => {
    const roomId = await withVisibility('shared');
    const eventId = await say(server, alice, roomId, 'Hello world');
    await join(bob, roomId);
    expectStatus(await fetchAs(bob, roomId, eventId), 200);
  });
  await t.test('TestFetchHistoricalInvitedEventFromBetweenInvite', async () => {
    const roomId = await withVisibility('invited');
    await invite(alice, roomId, bob.userId);
    const eventId = await say(server, alice, roomId, 'Hello world');
    await join(bob, roomId);
    expectStatus(await fetchAs(bob, roomId, eventId), 200);
  });
  await t.test('TestFetchHistoricalInvitedEventFromBeforeInvite', async () => {
    const roomId = await withVisibility('invited');
    const eventId = await say(server, alice, roomId, 'Hello world');
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    expectStatus(await fetchAs(bob, roomId, eventId), 404);
  });
  await t.test('TestFetchEventNonWorldReadable', async () => {
    const roomId = await withVisibility('shared');
    const eventId = await say(server, alice, roomId, 'Hello world');
    expectStatus(await fetchAs(bob, roomId, eventId), 404);
  });
  await t.test('TestFetchEventWorldReadable', async () => {
    const roomId = await withVisibility('world_readable');
    const eventId = await say(server, alice, roomId, 'Hello world');
    const result = await fetchAs(bob, roomId, eventId);
    expectStatus(result, 200);
    assert.equal(result.body.content.body, 'Hello world');
  });
});

test('TestRoomAlias, TestRoomDeleteAlias and TestRoomCanonicalAlias', async (t) => {
  const directory = (alias: string) => `v3/directory/room/${seg(alias)}`;
  await t.test('PUT /directory/room/:room_alias creates alias', async () => {
    const roomId = await createRoom(server, alice);
    expectStatus(await as(alice).put(directory('#creates_alias:localhost'), { room_id: roomId }), 200);
    assert.equal((await as(alice).get(directory('#creates_alias:localhost'))).body.room_id, roomId);
  });
  await t.test('GET /rooms/:room_id/aliases lists aliases', async () => {
    const roomId = await createRoom(server, alice);
    assert.deepEqual((await as(alice).get(room(roomId, 'aliases'))).body.aliases, []);
    expectStatus(await as(alice).put(directory('#lists_aliases:localhost'), { room_id: roomId }), 200);
    assert.deepEqual((await as(alice).get(room(roomId, 'aliases'))).body.aliases, ['#lists_aliases:localhost']);
  });
  await t.test('Only room members can list aliases of a room', async () => {
    const roomId = await createRoom(server, alice);
    expectStatus(await as(bob).get(room(roomId, 'aliases')), 403, 'M_FORBIDDEN');
  });
  await t.test('Room aliases can contain Unicode', async () => {
    const roomId = await createRoom(server, alice);
    expectStatus(await as(alice).put(directory('#unicode_☃:localhost'), { room_id: roomId }), 200);
    assert.equal((await as(alice).get(directory('#unicode_☃:localhost'))).body.room_id, roomId);
  });
  await t.test('Alias creators can delete alias with no ops', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(bob).put(directory('#no_ops:localhost'), { room_id: roomId }), 200);
    expectStatus(await as(bob).delete(directory('#no_ops:localhost')), 200);
    expectStatus(await as(bob).get(directory('#no_ops:localhost')), 404, 'M_NOT_FOUND');
  });
  await t.test('Alias creators can delete canonical alias with no ops', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(bob).put(directory('#no_ops_canonical:localhost'), { room_id: roomId }), 200);
    await putState(alice, roomId, 'm.room.canonical_alias', '', { alias: '#no_ops_canonical:localhost' });
    expectStatus(await as(bob).delete(directory('#no_ops_canonical:localhost')), 200);
  });
  await t.test('Deleting a non-existent alias should return a 404', async () => {
    expectStatus(await as(alice).delete(directory('#no_such_alias:localhost')), 404, 'M_NOT_FOUND');
  });
  await t.test('Can delete canonical alias', async () => {
    const roomId = await createRoom(server, alice);
    expectStatus(await as(alice).put(directory('#canonical_delete:localhost'), { room_id: roomId }), 200);
    await putState(alice, roomId, 'm.room.canonical_alias', '', { alias: '#canonical_delete:localhost' });
    expectStatus(await as(alice).delete(directory('#canonical_delete:localhost')), 200);
    expectStatus(await as(alice).get(directory('#canonical_delete:localhost')), 404, 'M_NOT_FOUND');
  });
  await t.test('Regular users can add and delete aliases in the default room configuration', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(bob).put(directory('#regular_default:localhost'), { room_id: roomId }), 200);
    expectStatus(await as(bob).delete(directory('#regular_default:localhost')), 200);
  });
  await t.test('Regular users can add and delete aliases when m.room.aliases is restricted', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const levels = await stateContent(alice, roomId, 'm.room.power_levels');
    await putState(alice, roomId, 'm.room.power_levels', '', { ...levels, events: { ...levels.events, 'm.room.aliases': 50 } });
    expectStatus(await as(bob).put(directory('#regular_restricted:localhost'), { room_id: roomId }), 200);
    expectStatus(await as(bob).delete(directory('#regular_restricted:localhost')), 200);
  });
  await t.test("Users can't delete other's aliases", async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectStatus(await as(alice).put(directory('#others_alias:localhost'), { room_id: roomId }), 200);
    expectStatus(await as(bob).delete(directory('#others_alias:localhost')), 403, 'M_FORBIDDEN');
    expectStatus(await as(bob).get(directory('#others_alias:localhost')), 200);
  });
  await t.test("Users with sufficient power-level can delete other's aliases", async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const levels = await stateContent(alice, roomId, 'm.room.power_levels');
    await putState(alice, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [bob.userId]: 100 } });
    expectStatus(await as(alice).put(directory('#powerful_delete:localhost'), { room_id: roomId }), 200);
    expectStatus(await as(bob).delete(directory('#powerful_delete:localhost')), 200);
  });

  const roomId = await createRoom(server, alice);
  const otherRoom = await createRoom(server, alice);
  expectStatus(await as(alice).put(directory('#canonical_present:localhost'), { room_id: roomId }), 200);
  expectStatus(await as(alice).put(directory('#canonical_other:localhost'), { room_id: otherRoom }), 200);
  const setCanonical = (content: unknown) => as(alice).put(room(roomId, 'state/m.room.canonical_alias/'), content);
  await t.test('m.room.canonical_alias accepts present aliases', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_present:localhost' }), 200);
  });
  await t.test('m.room.canonical_alias rejects missing aliases', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_missing:localhost' }), 400, 'M_BAD_ALIAS');
  });
  await t.test('m.room.canonical_alias rejects invalid aliases', async () => {
    expectStatus(await setCanonical({ alias: 'invalid_alias' }), 400, 'M_INVALID_PARAM');
  });
  await t.test('m.room.canonical_alias setting rejects deleted aliases', async () => {
    expectStatus(await as(alice).put(directory('#canonical_deleted:localhost'), { room_id: roomId }), 200);
    expectStatus(await as(alice).delete(directory('#canonical_deleted:localhost')), 200);
    expectStatus(await setCanonical({ alias: '#canonical_deleted:localhost' }), 400, 'M_BAD_ALIAS');
  });
  await t.test('m.room.canonical_alias rejects alias pointing to different local room', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_other:localhost' }), 400, 'M_BAD_ALIAS');
  });
  await t.test('m.room.canonical_alias accepts present alt_aliases', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_present:localhost', alt_aliases: ['#canonical_present:localhost'] }), 200);
  });
  await t.test('m.room.canonical_alias rejects missing alt_aliases', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_present:localhost', alt_aliases: ['#canonical_missing:localhost'] }), 400, 'M_BAD_ALIAS');
  });
  await t.test('m.room.canonical_alias rejects invalid alt_aliases', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_present:localhost', alt_aliases: ['%invalid_alias'] }), 400, 'M_INVALID_PARAM');
  });
  await t.test('m.room.canonical_alias rejects alt_alias pointing to different local room', async () => {
    expectStatus(await setCanonical({ alias: '#canonical_present:localhost', alt_aliases: ['#canonical_other:localhost'] }), 400, 'M_BAD_ALIAS');
  });
});

test('TestPowerLevels and TestDemotingUsersViaUsersDefault', async (t) => {
  const roomId = await createRoom(server, alice);
  await t.test('GET /rooms/:room_id/state/m.room.power_levels can fetch levels', async () => {
    const content = await stateContent(alice, roomId, 'm.room.power_levels');
    assert.equal(content.users[alice.userId], 100);
  });
  await t.test('PUT /rooms/:room_id/state/m.room.power_levels can set levels', async () => {
    const levels = await stateContent(alice, roomId, 'm.room.power_levels');
    await putState(alice, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, '@random-other-user:their.home': 20 } });
    assert.equal((await stateContent(alice, roomId, 'm.room.power_levels')).users['@random-other-user:their.home'], 20);
  });
  await t.test('PUT power_levels should not explode if the old power levels were empty', async () => {
    const empty = await createRoom(server, alice, { power_level_content_override: { users: { [alice.userId]: 100 } } });
    await putState(alice, empty, 'm.room.power_levels', '', { users: { [alice.userId]: 100 } });
    await putState(alice, empty, 'm.room.power_levels', '', { users: { [alice.userId]: 100 }, events_default: 0 });
  });
  await t.test('TestDemotingUsersViaUsersDefault', async () => {
    const demote = await createRoom(server, alice, { power_level_content_override: { users_default: 100, users: { [alice.userId]: 100 } } });
    await putState(alice, demote, 'm.room.power_levels', '', { users_default: 40, users: {} });
    assert.equal((await stateContent(alice, demote, 'm.room.power_levels')).users_default, 40);
  });
});

test('TestNotPresentUserCannotBanOthers, TestCannotKickNonPresentUser, TestCannotKickLeftUser', async (t) => {
  await t.test('TestNotPresentUserCannotBanOthers', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(charlie, roomId);
    const levels = await stateContent(alice, roomId, 'm.room.power_levels');
    await putState(alice, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [bob.userId]: 100 } });
    expectStatus(await as(bob).post(room(roomId, 'ban'), { user_id: charlie.userId }), 403, 'M_FORBIDDEN');
  });
  await t.test('TestCannotKickNonPresentUser', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    expectStatus(await as(alice).post(room(roomId, 'kick'), { user_id: bob.userId }), 403, 'M_FORBIDDEN');
  });
  await t.test('TestCannotKickLeftUser', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await leave(bob, roomId);
    expectStatus(await as(alice).post(room(roomId, 'kick'), { user_id: bob.userId }), 403, 'M_FORBIDDEN');
  });
});

test('TestLeftRoomFixture', async (t) => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
  await join(bob, roomId);
  await putState(alice, roomId, 'm.room.name', '', { name: 'N1' });
  await putState(alice, roomId, 'madeup.test.state', '', { body: 'S1' });
  await say(server, alice, roomId, 'M1');
  await say(server, alice, roomId, 'M2');
  await leave(bob, roomId);
  const bobSince = (await syncOnce(server, bob, { timeout: '0' })).next_batch;
  await putState(alice, roomId, 'm.room.name', '', { name: 'N2' });
  await putState(alice, roomId, 'madeup.test.state', '', { body: 'S2' });
  await say(server, alice, roomId, 'M3');
  await join(charlie, roomId);
  await t.test('Can get rooms/{roomId}/state for a departed room', async () => {
    assert.equal((await stateContent(bob, roomId, 'madeup.test.state')).body, 'S1');
    assert.equal((await stateContent(alice, roomId, 'madeup.test.state')).body, 'S2');
  });
  await t.test('Can get rooms/{roomId}/members for a departed room', async () => {
    const result = await as(bob).get(room(roomId, 'members'));
    expectStatus(result, 200);
    assert.deepEqual(result.body.chunk.map((e: any) => `${e.state_key}|${e.content.membership}`).sort(), [`${alice.userId}|join`, `${bob.userId}|leave`].sort());
  });
  await t.test('Can get rooms/{roomId}/messages for a departed room', async () => {
    const result = await as(bob).get(room(roomId, `messages?dir=b&limit=3&from=${seg(bobSince)}`));
    expectStatus(result, 200);
    assert.deepEqual(result.body.chunk.map((e: any) => e.content.body ?? e.state_key), [bob.userId, 'M2', 'M1']);
  });
  await t.test("Can get 'm.room.name' state for a departed room", async () => {
    assert.equal((await stateContent(bob, roomId, 'm.room.name')).name, 'N1');
    assert.equal((await stateContent(alice, roomId, 'm.room.name')).name, 'N2');
  });
  await t.test('Getting messages going forward is limited for a departed room', async () => {
    const result = await as(bob).get(room(roomId, `messages?dir=f&limit=100&from=${seg(bobSince)}`));
    expectStatus(result, 200);
    assert.deepEqual(result.body.chunk, []);
  });
});

test('TestGetRoomMembers, TestGetRoomMembersAtPoint, TestGetFilteredRoomMembers', async (t) => {
  await t.test('TestGetRoomMembers', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const result = await as(alice).get(room(roomId, 'members'));
    expectStatus(result, 200);
    await assertMatchesSpec({ method: 'GET', path: `/_matrix/client/v3/rooms/${roomId}/members`, status: 200, body: result.body });
    assert.deepEqual(result.body.chunk.map((e: any) => e.state_key).sort(), [alice.userId, bob.userId].sort());
  });
  await t.test('TestGetRoomMembersAtPoint', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await say(server, alice, roomId, 'first');
    const at = (await syncOnce(server, alice, { timeout: '0' })).next_batch;
    await join(bob, roomId);
    const result = await as(alice).get(room(roomId, `members?at=${seg(at)}`));
    assert.deepEqual(result.body.chunk.map((e: any) => e.state_key), [alice.userId]);
  });
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomId);
  await join(charlie, roomId);
  await leave(charlie, roomId);
  const members = async (query: string) => (await as(alice).get(room(roomId, `members?${query}`))).body.chunk.map((e: any) => e.state_key).sort();
  await t.test('not_membership', async () => {
    assert.deepEqual(await members('not_membership=leave'), [alice.userId, bob.userId].sort());
  });
  await t.test('membership/leave', async () => {
    assert.deepEqual(await members('membership=leave'), [charlie.userId]);
  });
  await t.test('membership/join', async () => {
    assert.deepEqual(await members('membership=join'), [alice.userId, bob.userId].sort());
  });
});

test('TestSendAndFetchMessage and friends (room_messages_test)', async (t) => {
  await t.test('TestSendAndFetchMessage', async () => {
    const roomId = await createRoom(server, alice);
    await say(server, alice, roomId, 'Hello, World!');
    const result = await as(alice).get(room(roomId, 'messages?dir=b&limit=1'));
    expectStatus(result, 200);
    assert.equal(result.body.chunk[0].content.body, 'Hello, World!');
  });
  await t.test('TestFetchMessagesFromNonExistentRoom', async () => {
    expectStatus(await as(alice).get(room('!does-not-exist:localhost', 'messages?dir=b')), 403, 'M_FORBIDDEN');
  });
  await t.test('TestSendMessageWithTxn', async () => {
    const roomId = await createRoom(server, alice);
    const first = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'txn' }, 'send_with_txn');
    const second = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'txn' }, 'send_with_txn');
    assert.equal(first.body.event_id, second.body.event_id);
  });
  await t.test('TestRoomMessagesLazyLoading', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await join(charlie, roomId);
    await say(server, bob, roomId, 'from bob');
    const filter = JSON.stringify({ lazy_load_members: true });
    const result = await as(alice).get(room(roomId, `messages?dir=b&limit=1&filter=${seg(filter)}`));
    assert.deepEqual(result.body.state.map((e: any) => e.state_key), [bob.userId]);
  });
  await t.test('TestRoomMessagesLazyLoadingLocalUser', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, roomId);
    await say(server, alice, roomId, 'from alice');
    const filter = JSON.stringify({ lazy_load_members: true });
    const result = await as(alice).get(room(roomId, `messages?dir=b&limit=1&filter=${seg(filter)}`));
    assert.deepEqual(result.body.state.map((e: any) => e.state_key), [alice.userId]);
  });
});

test('Transaction IDs (txnid_test)', async (t) => {
  await t.test('TestTxnInEvent', async () => {
    const roomId = await createRoom(server, alice);
    const eventId = (await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'foo' }, 'txn_in_event')).body.event_id;
    const result = await as(alice).get(room(roomId, `event/${seg(eventId)}`));
    assert.equal(result.body.unsigned.transaction_id, 'txn_in_event');
    const sync = await syncOnce(server, alice, { timeout: '0' });
    assert.equal(timelineOf(sync, roomId).find((e: any) => e.event_id === eventId)?.unsigned?.transaction_id, 'txn_in_event');
  });
  await t.test('TestTxnScopeOnLocalEcho', async () => {
    const first = await loginAs(server, 'alice', 'alice-pw');
    const roomId = await createRoom(server, first);
    const eventId = (await sendMessage(server, first, roomId, { msgtype: 'm.text', body: 'first' }, 'abdefgh')).body.event_id;
    const second = await loginAs(server, 'alice', 'alice-pw', { device_id: first.deviceId });
    const sync = await syncOnce(server, second, { timeout: '0' });
    assert.equal(timelineOf(sync, roomId).find((e: any) => e.event_id === eventId)?.unsigned?.transaction_id, 'abdefgh');
  });
  await t.test('TestTxnIdempotencyScopedToDevice', async () => {
    const first = await loginAs(server, 'alice', 'alice-pw');
    const roomId = await createRoom(server, first);
    const eventId1 = (await sendMessage(server, first, roomId, { msgtype: 'm.text', body: 'foo' }, 'abcdef')).body.event_id;
    const second = await loginAs(server, 'alice', 'alice-pw', { device_id: first.deviceId });
    const eventId2 = (await sendMessage(server, second, roomId, { msgtype: 'm.text', body: 'foo' }, 'abcdef')).body.event_id;
    assert.equal(eventId2, eventId1);
  });
  await t.test('TestTxnIdempotency', async () => {
    const roomOne = await createRoom(server, alice);
    const roomTwo = await createRoom(server, alice);
    const send = async (roomId: string, body: string) => (await sendMessage(server, alice, roomId, { msgtype: 'm.text', body }, 'idempotent')).body.event_id;
    const eventId1 = await send(roomOne, 'first');
    assert.equal(await send(roomOne, 'first'), eventId1);
    assert.equal(await send(roomOne, 'other content'), eventId1);
    assert.notEqual(await send(roomTwo, 'first'), eventId1);
  });
});

test('TestRoomCreationReportsEventsToMyself', async (t) => {
  const roomId = await createRoom(server, alice);
  const sync = await syncOnce(server, alice, { timeout: '0' });
  const events = [...(sync.rooms.join[roomId].state?.events ?? []), ...timelineOf(sync, roomId)];
  await t.test('Room creation reports m.room.create to myself', async () => {
    assert.ok(events.some((e: any) => e.type === 'm.room.create' && e.sender === alice.userId));
  });
  await t.test('Room creation reports m.room.member to myself', async () => {
    assert.ok(events.some((e: any) => e.type === 'm.room.member' && e.state_key === alice.userId && e.content.membership === 'join'));
  });
  await t.test('Setting room topic reports m.room.topic to myself', async () => {
    const since = sync.next_batch;
    await putState(alice, roomId, 'm.room.topic', '', { topic: 'Testing topic for the new room' });
    const next = await syncOnce(server, alice, { since, timeout: '0' });
    assert.ok(timelineOf(next, roomId).some((e: any) => e.type === 'm.room.topic' && e.content.topic === 'Testing topic for the new room'));
  });
  await t.test('Setting state twice is idempotent', async () => {
    const first = await putState(alice, roomId, 'a.test.state', '', { a: 1 });
    const second = await putState(alice, roomId, 'a.test.state', '', { a: 1 });
    assert.equal(second, first);
  });
  await t.test('Joining room twice is idempotent', async () => {
    const publicRoom = await createRoom(server, alice, { preset: 'public_chat' });
    await join(bob, publicRoom);
    const before = await stateContent(bob, publicRoom, 'm.room.member', bob.userId);
    const eventBefore = (await as(bob).get(room(publicRoom, `state/m.room.member/${seg(bob.userId)}?format=event`))).body.event_id;
    await join(bob, publicRoom);
    assert.deepEqual(await stateContent(bob, publicRoom, 'm.room.member', bob.userId), before);
    assert.equal((await as(bob).get(room(publicRoom, `state/m.room.member/${seg(bob.userId)}?format=event`))).body.event_id, eventBefore);
  });
});

test('TestRedact / Event content is redacted', async () => {
  const roomId = await createRoom(server, alice);
  const eventId = await say(server, alice, roomId, 'secret');
  expectStatus(await as(alice).put(room(roomId, `redact/${seg(eventId)}/redact1`), { reason: 'oops' }), 200);
  const result = await as(alice).get(room(roomId, `event/${seg(eventId)}`));
  assert.deepEqual(result.body.content, {});
  assert.ok(result.body.unsigned.redacted_because);
});

test('TestAvatarUrlUpdate and TestDisplayNameUpdate (room_profile_test)', async (t) => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomId);
  await t.test('TestAvatarUrlUpdate', async () => {
    const since = (await syncOnce(server, bob, { timeout: '0' })).next_batch;
    expectStatus(await as(alice).put(`v3/profile/${seg(alice.userId)}/avatar_url`, { avatar_url: 'mxc://localhost/avatar' }), 200);
    const sync = await syncOnce(server, bob, { since, timeout: '0' });
    assert.ok(timelineOf(sync, roomId).some((e: any) => e.type === 'm.room.member' && e.state_key === alice.userId && e.content.avatar_url === 'mxc://localhost/avatar'));
  });
  await t.test('TestDisplayNameUpdate', async () => {
    const since = (await syncOnce(server, bob, { timeout: '0' })).next_batch;
    expectStatus(await as(alice).put(`v3/profile/${seg(alice.userId)}/displayname`, { displayname: 'alice new name' }), 200);
    const sync = await syncOnce(server, bob, { since, timeout: '0' });
    assert.ok(timelineOf(sync, roomId).some((e: any) => e.type === 'm.room.member' && e.state_key === alice.userId && e.content.displayname === 'alice new name'));
  });
});

test('TestRoomSpecificUsernameChange and TestRoomSpecificUsernameAtJoin (user directory)', async (t) => {
  await t.test('TestRoomSpecificUsernameChange', async () => {
    const dora = await registerUser(server.url, 'dora', { displayname: 'Dora Global' });
    const roomId = await createRoom(server, dora, { preset: 'public_chat' });
    await join(alice, roomId);
    const member = await stateContent(dora, roomId, 'm.room.member', dora.userId);
    await putState(dora, roomId, 'm.room.member', dora.userId, { ...member, displayname: 'Dora Secret Room Name' });
    const byRoomName = await as(alice).post('v3/user_directory/search', { search_term: 'Secret Room Name' });
    assert.deepEqual(byRoomName.body.results, []);
    const byGlobal = await as(alice).post('v3/user_directory/search', { search_term: 'Dora Global' });
    assert.deepEqual(byGlobal.body.results.map((r: any) => r.user_id), [dora.userId]);
  });
  await t.test('TestRoomSpecificUsernameAtJoin', async () => {
    const eve = await registerUser(server.url, 'eve', { displayname: 'Eve Global' });
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(eve, roomId, { displayname: 'Eve Join Name' });
    const byJoinName = await as(alice).post('v3/user_directory/search', { search_term: 'Join Name' });
    assert.deepEqual(byJoinName.body.results, []);
    const byGlobal = await as(alice).post('v3/user_directory/search', { search_term: 'Eve Global' });
    assert.deepEqual(byGlobal.body.results.map((r: any) => r.user_id), [eve.userId]);
  });
});

test('TestJson and TestEvent (invalid_test)', async (t) => {
  const roomId = await createRoom(server, alice);
  const raw = (body: string) => as(alice).call('PUT', room(roomId, `send/complement.dummy/${Math.random().toString(36).slice(2)}`), body);
  await t.test('Invalid numerical values', async () => {
    for (const body of ['{"body": 9007199254740992}', '{"body": -9007199254740992}', '{"body": 1.1}']) expectStatus(await raw(body), 400, 'M_BAD_JSON');
  });
  await t.test('Invalid JSON special values', async () => {
    for (const body of ['{"body": Infinity}', '{"body": -Infinity}', '{"body": NaN}']) expectStatus(await raw(body), 400);
  });
  await t.test('Large Event', async () => {
    expectStatus(await as(alice).put(room(roomId, 'send/m.room.message/large1'), { msgtype: 'm.text', body: 'a'.repeat(70_000) }), 413, 'M_TOO_LARGE');
  });
  await t.test('Large State Event', async () => {
    expectStatus(await as(alice).put(room(roomId, 'state/m.room.topic/'), { topic: 'a'.repeat(70_000) }), 413, 'M_TOO_LARGE');
  });
});

test('TestFilter (invalid_test: invalid filters are refused with 4xx)', async () => {
  const NAO = 'not_an_object';
  const NAL = 'not_a_list';
  const filters: unknown[] = [
    { presence: NAO },
    { room: { timeline: NAO } },
    { room: { state: NAO } },
    { room: { ephemeral: NAO } },
    { room: { account_data: NAO } },
    ...['rooms', 'not_rooms', 'senders', 'not_senders', 'types', 'not_types'].map((key) => ({ room: { timeline: { [key]: NAL } } })),
    { room: { timeline: { types: [1] } } },
    { room: { timeline: { rooms: ['not_a_room_id'] } } },
    { room: { timeline: { senders: ['not_a_sender_id'] } } },
  ];
  const before = await server.app.db.selectFrom('user_filters').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  for (const filter of filters) {
    const result = await as(alice).post(`v3/user/${seg(alice.userId)}/filter`, filter);
    assert.ok(result.status >= 400 && result.status < 500, `${JSON.stringify(filter)}: ${result.status} ${JSON.stringify(result.body)}`);
    assert.ok(['M_BAD_JSON', 'M_INVALID_PARAM', 'M_NOT_JSON'].includes(result.body.errcode), result.body.errcode);
  }
  const afterCount = await server.app.db.selectFrom('user_filters').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  assert.deepEqual(afterCount, before, 'no refused filter was stored');
});
