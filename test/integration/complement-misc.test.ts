// Complement's client-API scenarios outside tests/csapi: knocking
// (tests/knocking_test.go), room
// summaries (room_summary_test.go) and unknown endpoints
// (unknown_endpoints_test.go). Tests are named after the Complement test
// functions, subtests after their t.Run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { clientOf, expectStatus, seg } from '../support/complement.ts';
import { createRoom, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let charlie: TestUser;
before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  charlie = await registerUser(server.url, 'charlie');
});
after(() => server.stop());

const as = (user: TestUser) => clientOf(server, user);
const room = (roomId: string, rest: string) => `v3/rooms/${seg(roomId)}/${rest}`;
const knock = (user: TestUser, roomId: string, body: unknown = { reason: 'Let me in' }) => as(user).post(`v3/knock/${seg(roomId)}`, body);
const membershipOf = async (roomId: string, userId: string) => (await as(alice).get(room(roomId, `state/m.room.member/${seg(userId)}`))).body.membership;

for (const joinRule of ['knock', 'knock_restricted']) {
test(joinRule === 'knock' ? 'TestKnocking' : 'TestKnockingInMSC3787Room (knock_restricted)', async (t) => {
  const bob = await registerUser(server.url, `knocker_${joinRule}`);
  const roomId = await createRoom(server, alice, { preset: 'private_chat', room_version: '10' });
  await t.test("Knocking on a room with a join rule other than 'knock' should fail", async () => {
    expectStatus(await knock(bob, roomId), 403, 'M_FORBIDDEN');
  });
  await t.test("Change the join rule of a room from 'invite' to 'knock'", async () => {
    expectStatus(await as(alice).put(room(roomId, 'state/m.room.join_rules/'), { join_rule: joinRule, ...(joinRule === 'knock_restricted' ? { allow: [] } : {}) }), 200);
  });
  await t.test("Attempting to join a room with join rule 'knock' without an invite should fail", async () => {
    expectStatus(await as(bob).post(`v3/join/${seg(roomId)}`), 403, 'M_FORBIDDEN');
  });
  await t.test("Knocking on a room with join rule 'knock' should succeed", async () => {
    const result = await knock(bob, roomId);
    expectStatus(result, 200);
    assert.equal(result.body.room_id, roomId);
    const knocked = (await syncOnce(server, bob, { timeout: '0' })).rooms.knock[roomId];
    assert.ok(knocked.knock_state.events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'knock'));
  });
  await t.test('A user that has already knocked is allowed to knock again on the same room', async () => {
    expectStatus(await knock(bob, roomId), 200);
  });
  await t.test("Users in the room see a user's membership update when they knock", async () => {
    const events = (await syncOnce(server, alice, { timeout: '0' })).rooms.join[roomId].timeline.events;
    assert.ok(events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'knock' && e.content.reason === 'Let me in'));
  });
  await t.test('A user that has knocked on a local room can rescind their knock and then knock again', async () => {
    expectStatus(await as(bob).post(room(roomId, 'leave'), { reason: "I'm knocking again" }), 200);
    assert.equal(await membershipOf(roomId, bob.userId), 'leave');
    expectStatus(await knock(bob, roomId), 200);
    assert.equal(await membershipOf(roomId, bob.userId), 'knock');
  });
  await t.test('A user in the room can reject a knock', async () => {
    expectStatus(await as(alice).post(room(roomId, 'kick'), { user_id: bob.userId, reason: 'Go away' }), 200);
    assert.equal(await membershipOf(roomId, bob.userId), 'leave');
  });
  await t.test('A user can knock on a room without a reason', async () => {
    expectStatus(await knock(bob, roomId, {}), 200);
  });
  await t.test('A user in the room can accept a knock', async () => {
    expectStatus(await as(alice).post(room(roomId, 'invite'), { user_id: bob.userId }), 200);
    assert.equal(await membershipOf(roomId, bob.userId), 'invite');
  });
  await t.test('A user cannot knock on a room they are already invited to', async () => {
    expectStatus(await knock(bob, roomId), 403, 'M_FORBIDDEN');
  });
  await t.test('A user cannot knock on a room they are already in', async () => {
    expectStatus(await as(bob).post(`v3/join/${seg(roomId)}`), 200);
    expectStatus(await knock(bob, roomId), 403, 'M_FORBIDDEN');
  });
  await t.test('A user that is banned from a room cannot knock on it', async () => {
    expectStatus(await as(alice).post(room(roomId, 'ban'), { user_id: bob.userId, reason: 'Spam' }), 200);
    expectStatus(await knock(bob, roomId), 403, 'M_FORBIDDEN');
  });
});
}

test('TestKnockRoomsInPublicRoomsDirectory', async () => {
  const roomId = await createRoom(server, alice, { preset: 'private_chat', room_version: '10', visibility: 'public' });
  expectStatus(await as(alice).put(room(roomId, 'state/m.room.join_rules/'), { join_rule: 'knock' }), 200);
  const listed = (await as(bob).get('v3/publicRooms')).body.chunk.find((r: any) => r.room_id === roomId);
  assert.equal(listed?.join_rule, 'knock');
});

for (const joinRule of ['restricted', 'knock_restricted']) {
test(joinRule === 'restricted' ? 'TestRestrictedRoomsLocalJoin' : 'TestRestrictedRoomsLocalJoinInMSC3787Room (knock_restricted)', async (t) => {
  const charlie = await registerUser(server.url, `joiner_${joinRule}`);
  const allowedRoom = await createRoom(server, alice, { preset: 'public_chat', name: 'Allowed Room' });
  const roomId = await createRoom(server, alice, {
    preset: 'public_chat', name: 'Room', room_version: '10',
    initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: joinRule, allow: [{ type: 'm.room_membership', room_id: allowedRoom, via: ['localhost'] }] } }],
  });
  await t.test('Join should fail initially', async () => {
    expectStatus(await as(charlie).post(`v3/join/${seg(roomId)}`), 403, 'M_FORBIDDEN');
  });
  await t.test('Join should succeed when joined to allowed room', async () => {
    expectStatus(await as(charlie).post(`v3/join/${seg(allowedRoom)}`), 200);
    expectStatus(await as(charlie).post(`v3/join/${seg(roomId)}`), 200);
    const member = (await as(charlie).get(room(roomId, `state/m.room.member/${seg(charlie.userId)}`))).body;
    assert.equal(member.join_authorised_via_users_server, alice.userId);
    expectStatus(await as(charlie).put(room(roomId, `state/m.room.member/${seg(charlie.userId)}`), { membership: 'join', displayname: 'Charlie', join_authorised_via_users_server: 'unused' }), 200);
  });
  await t.test('Join should fail when left allowed room', async () => {
    expectStatus(await as(charlie).post(room(roomId, 'leave')), 200);
    expectStatus(await as(charlie).post(room(allowedRoom, 'leave')), 200);
    expectStatus(await as(charlie).post(`v3/join/${seg(roomId)}`), 403, 'M_FORBIDDEN');
  });
  await t.test('Join should succeed when invited', async () => {
    expectStatus(await as(alice).post(room(roomId, 'invite'), { user_id: charlie.userId }), 200);
    expectStatus(await as(charlie).post(`v3/join/${seg(roomId)}`), 200);
  });
});
}

test('TestRoomSummaryAllowedRoomIDs', async (t) => {
  const space = await createRoom(server, alice, { preset: 'public_chat', creation_content: { type: 'm.space' } });
  const restricted = await createRoom(server, alice, {
    preset: 'private_chat',
    initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
  });
  const inviteRoom = await createRoom(server, alice, { preset: 'private_chat' });
  await t.test('restricted room includes allowed_room_ids', async () => {
    const result = await as(alice).get(`v1/room_summary/${seg(restricted)}`);
    expectStatus(result, 200);
    assert.equal(result.body.join_rule, 'restricted');
    assert.deepEqual(result.body.allowed_room_ids, [space]);
  });
  await t.test('non-restricted room omits allowed_room_ids', async () => {
    const result = await as(alice).get(`v1/room_summary/${seg(inviteRoom)}`);
    expectStatus(result, 200);
    assert.equal(result.body.allowed_room_ids, undefined);
  });
});

test('TestUnknownEndpoints', async (t) => {
  const unknown = async (path: string) => expectStatus(await request(server.url, 'GET', path, { token: alice.accessToken }), 404, 'M_UNRECOGNIZED');
  const wrongMethod = async (method: string, path: string) => expectStatus(await request(server.url, method, path, { token: alice.accessToken }), 405, 'M_UNRECOGNIZED');
  await t.test('Unknown prefix', async () => unknown('/_matrix/unknown'));
  await t.test('Client-server endpoints', async () => {
    await unknown('/_matrix/client/unknown');
    await unknown('/_matrix/client/v1/unknown');
    await unknown('/_matrix/client/v3/room/unknown');
    await wrongMethod('PUT', '/_matrix/client/v3/login');
  });
  await t.test('Media endpoints', async () => {
    await unknown('/_matrix/media/unknown');
    await unknown('/_matrix/media/v3/unknown');
    await wrongMethod('PATCH', '/_matrix/media/v3/upload');
  });
  await t.test('Key endpoints', async () => {
    await unknown('/_matrix/key/unknown');
    await unknown('/_matrix/key/v2/unknown');
    await wrongMethod('PUT', '/_matrix/key/v2/query');
  });
});

test('TestClientSpacesSummary / redact link', async () => {
  const root = await createRoom(server, alice, { preset: 'public_chat', creation_content: { type: 'm.space' } });
  const kept = await createRoom(server, alice, { preset: 'public_chat' });
  const removed = await createRoom(server, alice, { preset: 'public_chat' });
  for (const child of [kept, removed]) expectStatus(await as(alice).put(room(root, `state/m.space.child/${seg(child)}`), { via: ['localhost'] }), 200);
  expectStatus(await as(alice).put(room(root, `state/m.space.child/${seg(removed)}`), {}), 200);
  const result = await as(alice).get(`v1/rooms/${seg(root)}/hierarchy`);
  expectStatus(result, 200);
  assert.deepEqual(result.body.rooms.map((r: any) => r.room_id).sort(), [root, kept].sort());
  const rootEntry = result.body.rooms.find((r: any) => r.room_id === root);
  assert.deepEqual(rootEntry.children_state.map((e: any) => e.state_key), [kept]);
});

test('TestSearch', async (t) => {
  const searchOf = async (criteria: Record<string, unknown>, nextBatch?: string) => {
    const result = await as(alice).post(`v3/search${nextBatch ? `?next_batch=${encodeURIComponent(nextBatch)}` : ''}`, { search_categories: { room_events: { keys: ['content.body'], ...criteria } } });
    expectStatus(result, 200);
    return result.body.search_categories.room_events;
  };
  let txn = 0;
  const send = async (roomId: string, body: string) => (await as(alice).put(room(roomId, `send/m.room.message/search-${txn++}`), { msgtype: 'm.text', body })).body.event_id as string;
  await t.test('Can search for an event by body', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    const eventId = await send(roomId, 'hello, world');
    const found = await searchOf({ search_term: 'hello', filter: { rooms: [roomId] } });
    assert.equal(found.count, 1);
    assert.equal(found.results[0].result.event_id, eventId);
    assert.equal(found.results[0].result.room_id, roomId);
    assert.equal(found.results[0].result.content.body, 'hello, world');
  });
  await t.test('Can get context around search results', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    for (let i = 1; i <= 7; i++) await send(roomId, `Message number ${i}`);
    const found = await searchOf({ search_term: 'Message 4', order_by: 'recent', filter: { limit: 1, rooms: [roomId] }, event_context: { before_limit: 2, after_limit: 2 } });
    assert.equal(found.count, 1);
    assert.equal(found.results[0].result.content.body, 'Message number 4');
    assert.deepEqual(found.results[0].context.events_before.map((e: any) => e.content.body), ['Message number 3', 'Message number 2']);
    assert.deepEqual(found.results[0].context.events_after.map((e: any) => e.content.body), ['Message number 5', 'Message number 6']);
  });
  await t.test('Can back-paginate search results', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    const eventIds: string[] = [];
    for (let i = 0; i <= 19; i++) eventIds.push(await send(roomId, `Message number ${i}`));
    const criteria = { search_term: 'Message', order_by: 'recent', filter: { limit: 10, rooms: [roomId] } };
    const first = await searchOf(criteria);
    assert.equal(first.count, 20);
    assert.equal(first.results[0].result.event_id, eventIds[19]);
    assert.equal(first.results[9].result.event_id, eventIds[10]);
    const second = await searchOf(criteria, first.next_batch);
    assert.equal(second.count, 20);
    assert.equal(second.results[0].result.event_id, eventIds[9]);
    assert.equal(second.results[9].result.event_id, eventIds[0]);
    const third = await searchOf(criteria, second.next_batch);
    assert.equal(third.count, 20);
    assert.deepEqual(third.results, []);
    assert.equal(third.next_batch, undefined);
  });
  // Complement upgrades version 8 to 9, which Palisade does not support (10 and 11 only); the same with 10 to 11.
  await t.test('Search works across an upgraded room and its predecessor (10 to 11)', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat', room_version: '10' });
    const before = await send(roomId, 'Message before upgrade');
    const upgraded = await as(alice).post(room(roomId, 'upgrade'), { new_version: '11' });
    expectStatus(upgraded, 200);
    const after = await send(upgraded.body.replacement_room, 'Message after upgrade');
    const found = await searchOf({ search_term: 'upgrade', filter: { rooms: [roomId, upgraded.body.replacement_room] } });
    assert.equal(found.count, 2);
    assert.deepEqual(found.results.map((r: any) => r.result.event_id), [before, after]);
  });
  for (const order of ['rank', 'recent']) {
    await t.test(`Search results with ${order} ordering do not include redacted events`, async () => {
      const roomId = await createRoom(server, alice, { preset: 'private_chat' });
      const eventId = await send(roomId, 'This message is going to be redacted');
      const kept = await send(roomId, 'This message is not going to be redacted');
      expectStatus(await as(alice).put(room(roomId, `redact/${seg(eventId)}/r-${order}`), { reason: 'testing' }), 200);
      const found = await searchOf({ search_term: 'redacted', order_by: order, filter: { rooms: [roomId] } });
      assert.deepEqual(found.results.map((r: any) => r.result.event_id), [kept]);
      assert.equal(found.count, 1, 'the redacted event is not counted');
    });
  }
});

test('TestUploadKeyIdempotency and TestUploadKeyIdempotencyOverlap', async (t) => {
  const { testDevice } = await import('../support/e2ee-keys.ts');
  const counts = async (user: TestUser, body: Record<string, unknown>) => {
    const result = await as(user).post('v3/keys/upload', body);
    expectStatus(result, 200);
    return result.body.one_time_key_counts.signed_curve25519 ?? 0;
  };
  await t.test('TestUploadKeyIdempotency', async () => {
    const user = await registerUser(server.url, 'keys_idempotent');
    const device = testDevice(user.userId, user.deviceId);
    const body = { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(2) };
    assert.equal(await counts(user, body), 2);
    assert.equal(await counts(user, body), 2);
  });
  await t.test('TestUploadKeyIdempotencyOverlap', async () => {
    const user = await registerUser(server.url, 'keys_overlap');
    const device = testDevice(user.userId, user.deviceId);
    const keys = device.oneTimeKeys(4);
    const ids = Object.keys(keys);
    const pick = (from: number, to: number) => Object.fromEntries(ids.slice(from, to).map((id) => [id, keys[id]]));
    assert.equal(await counts(user, { device_keys: device.deviceKeys, one_time_keys: pick(0, 3) }), 3);
    assert.equal(await counts(user, { device_keys: device.deviceKeys, one_time_keys: pick(1, 4) }), 4);
  });
});

test('TestPublicRooms', async (t) => {
  await t.test('Can search public room list', async () => {
    const roomId = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat', name: 'Test Name', topic: 'Test Topic Wombles' });
    const result = await as(alice).post('v3/publicRooms', { filter: { generic_search_term: 'wombles' } });
    expectStatus(result, 200);
    assert.deepEqual(result.body.chunk.map((r: any) => r.room_id), [roomId]);
  });
  await t.test('Name/topic keys are correct', async () => {
    const cases = [
      ['publicroomalias_no_name', '', ''], ['publicroomalias_with_name', 'name_1', ''], ['publicroomalias_with_topic', '', 'topic_1'],
      ['publicroomalias_with_name_topic', 'name_2', 'topic_2'], ['publicroom_with_unicode_chars_name', 'un nom français', ''],
      ['publicroom_with_unicode_chars_topic', '', 'un topic à la française'], ['publicroom_with_unicode_chars_name_topic', 'un nom français', 'un topic à la française'],
    ];
    const ids = new Map<string, string[]>();
    for (const [alias, name, topic] of cases) {
      const roomId = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat', room_alias_name: alias, ...(name ? { name } : {}), ...(topic ? { topic } : {}) });
      ids.set(roomId, [name, topic]);
    }
    const chunk = (await as(alice).get('v3/publicRooms?limit=100')).body.chunk;
    for (const [roomId, [name, topic]] of ids) {
      const listed = chunk.find((r: any) => r.room_id === roomId);
      assert.ok(listed, roomId);
      assert.equal(listed.name, name || undefined);
      assert.equal(listed.topic, topic || undefined);
    }
  });
});
