import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, roomSnapshot, say } from '../support/rooms.ts';

let server: TestServer;
let root: TestUser;
let alice: TestUser;
let bob: TestUser;
let rooms: { general: string; secret: string; empty: string };
const ROOMS = '/_synapse/admin/v1/rooms';
const MEGOLM = { algorithm: 'm.megolm.v1.aes-sha2' };

before(async () => {
  server = await startTestServer();
  root = await registerUser(server.url, 'root', { admin: true });
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  const general = await createRoom(server, alice, { name: 'General', topic: 'everything', preset: 'public_chat', visibility: 'public', room_alias_name: 'general' });
  assert.equal((await roomPost(server, bob, general, 'join')).status, 200);
  const secret = await createRoom(server, bob, { name: 'Secret', initial_state: [{ type: 'm.room.encryption', state_key: '', content: MEGOLM }] });
  const empty = await createRoom(server, alice, {});
  rooms = { general, secret, empty };
});
after(() => server.stop());

const get = (user: TestUser, path: string) => request(server.url, 'GET', path, { token: user.accessToken });
function expectError(result: HttpResult, status: number, errcode: string) {
  assert.deepEqual([result.status, result.body.errcode], [status, errcode], JSON.stringify(result.body));
  assert.equal(typeof result.body.error, 'string');
}
const ROOM_FIELDS = ['room_id', 'name', 'canonical_alias', 'joined_members', 'joined_local_members', 'version', 'creator', 'encryption', 'federatable', 'public', 'join_rules', 'guest_access', 'history_visibility', 'state_events', 'room_type'];

test('list rooms: Synapse shape, ordered by name by default (rooms without one last), searched, paged', async () => {
  const listed = await get(root, ROOMS);
  assert.equal(listed.status, 200);
  assert.deepEqual(Object.keys(listed.body).sort(), ['offset', 'rooms', 'total_rooms']);
  assert.deepEqual([listed.body.offset, listed.body.total_rooms], [0, 3]);
  assert.deepEqual(listed.body.rooms.map((room: any) => room.room_id), [rooms.general, rooms.secret, rooms.empty]);
  const general = listed.body.rooms[0];
  assert.deepEqual(Object.keys(general).sort(), [...ROOM_FIELDS].sort());
  assert.deepEqual(
    [general.name, general.canonical_alias, general.joined_members, general.joined_local_members, general.version, general.creator, general.encryption, general.public, general.join_rules, general.history_visibility],
    ['General', '#general:localhost', 2, 2, '11', alice.userId, null, true, 'public', 'shared'],
  );
  assert.equal(listed.body.rooms[1].encryption, 'm.megolm.v1.aes-sha2');
  assert.ok(Number.isInteger(general.state_events) && general.state_events >= 6);

  const bySize = await get(root, `${ROOMS}?order_by=size&limit=1`);
  assert.deepEqual([bySize.body.rooms[0].room_id, bySize.body.next_batch, bySize.body.prev_batch], [rooms.general, 1, undefined]);
  const second = await get(root, `${ROOMS}?order_by=joined_members&limit=1&from=1`);
  assert.deepEqual([second.body.offset, second.body.next_batch, second.body.prev_batch], [1, 2, 0]);
  const reversed = await get(root, `${ROOMS}?order_by=name&dir=b`);
  assert.deepEqual(reversed.body.rooms.map((room: any) => room.room_id), [rooms.secret, rooms.general, rooms.empty]);
  const searched = await get(root, `${ROOMS}?search_term=secr`);
  assert.deepEqual([searched.body.rooms.map((room: any) => room.room_id), searched.body.total_rooms], [[rooms.secret], 1]);

  for (const order of ['name', 'canonical_alias', 'joined_members', 'joined_local_members', 'version', 'creator', 'encryption', 'public', 'join_rules', 'guest_access', 'history_visibility', 'state_events', 'created', 'alphabetical', 'size']) {
    for (const dir of ['f', 'b']) {
      const ordered = await get(root, `${ROOMS}?order_by=${order}&dir=${dir}`);
      assert.deepEqual([ordered.status, ordered.body.total_rooms, new Set(ordered.body.rooms.map((room: any) => room.room_id)).size], [200, 3, 3], `${order} ${dir}`);
    }
  }
  assert.equal((await get(root, `${ROOMS}?order_by=public`)).body.rooms[0].room_id, rooms.general, 'published rooms first');
  for (const bad of ['limit=-1', 'limit=1001', 'from=x', 'order_by=colour', 'dir=up', 'search_term=']) {
    expectError(await get(root, `${ROOMS}?${bad}`), 400, 'M_INVALID_PARAM');
  }
  expectError(await get(alice, ROOMS), 403, 'M_FORBIDDEN');
  expectError(await request(server.url, 'GET', ROOMS), 401, 'M_MISSING_TOKEN');
});

test('room details and members; unknown rooms are 404, non-admins 403', async () => {
  const details = await get(root, `${ROOMS}/${encodeURIComponent(rooms.general)}`);
  assert.equal(details.status, 200);
  assert.deepEqual([details.body.topic, details.body.avatar, details.body.name, details.body.joined_local_devices], ['everything', null, 'General', 2]);
  const members = await get(root, `${ROOMS}/${encodeURIComponent(rooms.general)}/members`);
  assert.deepEqual(members.body, { members: [alice.userId, bob.userId], total: 2 });
  for (const path of [`${ROOMS}/${encodeURIComponent('!nowhere:localhost')}`, `${ROOMS}/${encodeURIComponent('!nowhere:localhost')}/members`]) {
    expectError(await get(root, path), 404, 'M_NOT_FOUND');
    expectError(await get(alice, path), 403, 'M_FORBIDDEN');
  }
  expectError(await get(alice, `${ROOMS}/${encodeURIComponent(rooms.general)}/members`), 403, 'M_FORBIDDEN');
  expectError(await get(root, `${ROOMS}/not-a-room`), 400, 'M_INVALID_PARAM');
});

test('delete room: everyone removed, aliases gone, history purged; block and replacement rooms are refused', async () => {
  const roomId = await createRoom(server, alice, { name: 'Doomed', preset: 'public_chat', visibility: 'public', room_alias_name: 'doomed' });
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  const message = await say(server, bob, roomId, 'bye');
  const before = await roomSnapshot(server, roomId);
  const del = (user: TestUser, body: unknown) => request(server.url, 'DELETE', `${ROOMS}/${encodeURIComponent(roomId)}`, { token: user.accessToken, body });
  expectError(await del(alice, {}), 403, 'M_FORBIDDEN');
  expectError(await del(root, { block: true }), 400, 'M_INVALID_PARAM');
  expectError(await del(root, { new_room_user_id: root.userId }), 400, 'M_INVALID_PARAM');
  expectError(await del(root, { purge: 'yes' }), 400, 'M_BAD_JSON');
  assert.deepEqual(await roomSnapshot(server, roomId), before);

  const deleted = await del(root, { message: 'closed by the admins' });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.deepEqual(new Set(deleted.body.kicked_users), new Set([alice.userId, bob.userId]));
  assert.deepEqual([deleted.body.failed_to_kick_users, deleted.body.local_aliases, deleted.body.new_room_id], [[], ['#doomed:localhost'], null]);
  assert.equal((await request(server.url, 'GET', `/_matrix/client/v3/directory/room/${encodeURIComponent('#doomed:localhost')}`)).status, 404);
  assert.equal(await server.app.db.selectFrom('events').select('event_id').where('event_id', '=', message).executeTakeFirst(), undefined);
  const members = await get(root, `${ROOMS}/${encodeURIComponent(roomId)}/members`);
  assert.deepEqual(members.body, { members: [], total: 0 });
  expectError(await request(server.url, 'DELETE', `${ROOMS}/${encodeURIComponent('!nowhere:localhost')}`, { token: root.accessToken, body: {} }), 404, 'M_NOT_FOUND');
});

test('delete room also shuts down a room nobody local may manage any more (its join rule is left as it is)', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Abandoned' });
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  assert.equal((await roomPost(server, alice, roomId, 'leave')).status, 200);
  const deleted = await request(server.url, 'DELETE', `${ROOMS}/${encodeURIComponent(roomId)}`, { token: root.accessToken, body: { purge: false } });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.deepEqual(deleted.body.kicked_users, [bob.userId]);
  const details = await get(root, `${ROOMS}/${encodeURIComponent(roomId)}`);
  assert.deepEqual([details.body.joined_members, details.body.join_rules, details.body.public], [0, 'public', false]);
});
