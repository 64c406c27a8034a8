import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const ids: Record<string, string> = {};

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  const space = (name: string, preset = 'public_chat') => createRoom(server, alice, { preset, name, creation_content: { type: 'm.space' } });
  ids.S = await space('Space');
  ids.A = await createRoom(server, alice, { preset: 'public_chat', name: 'A' });
  ids.B = await createRoom(server, alice, { preset: 'private_chat', name: 'B' });
  ids.S2 = await space('Subspace');
  ids.D = await createRoom(server, alice, { preset: 'public_chat', name: 'D' });
  ids.E = await createRoom(server, alice, { preset: 'public_chat', name: 'E' });
  ids.Private = await space('Private space', 'private_chat');
  const child = async (parent: string, childId: string, content: Record<string, unknown>) =>
    assert.equal((await putState(server, alice, parent, 'm.space.child', childId, content)).status, 200);
  await child(ids.S, ids.A, { via: ['localhost'], order: 'b' });
  await child(ids.S, ids.B, { via: ['localhost'], order: 'a' });
  await child(ids.S, ids.S2, { via: ['localhost'], suggested: true });
  await child(ids.S, ids.E, {}); // no via: not a child
  await child(ids.S2, ids.D, { via: ['localhost'] });
});
after(() => server.stop());

const path = (roomId: string, query = '') => `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/hierarchy${query}`;
const names = (rooms: any[]) => rooms.map((room) => room.name);

async function hierarchy(user: TestUser, roomId: string, query = '') {
  const result = await request(server.url, 'GET', path(roomId, query), { token: user.accessToken });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'GET', path: path(roomId), status: 200, body: result.body });
  return result.body;
}

test('hierarchy: depth first in the spec\'s child order, only rooms the caller may see, children_state as stripped events', async () => {
  assert.deepEqual(names((await hierarchy(alice, ids.S)).rooms), ['Space', 'B', 'A', 'Subspace', 'D']);
  const forBob = await hierarchy(bob, ids.S);
  assert.deepEqual(names(forBob.rooms), ['Space', 'A', 'Subspace', 'D'], 'the invite-only room is left out for bob');
  const [root] = forBob.rooms;
  assert.equal(root.room_type, 'm.space');
  assert.equal(root.join_rule, 'public');
  assert.equal(root.num_joined_members, 1);
  assert.deepEqual(root.children_state.map((event: any) => event.state_key).sort(), [ids.A, ids.B, ids.S2].sort(), 'the child without via is not a child');
  assert.ok(root.children_state.every((event: any) => event.type === 'm.space.child' && typeof event.origin_server_ts === 'number'));
  assert.deepEqual(forBob.rooms.find((room: any) => room.name === 'A').children_state, []);
});

test('hierarchy: max_depth, suggested_only, and pages that keep their parameters', async () => {
  assert.deepEqual(names((await hierarchy(bob, ids.S, '?max_depth=1')).rooms), ['Space', 'A', 'Subspace']);
  assert.deepEqual(names((await hierarchy(bob, ids.S, '?max_depth=0')).rooms), ['Space']);
  assert.deepEqual(names((await hierarchy(bob, ids.S, '?suggested_only=true')).rooms), ['Space', 'Subspace']);
  const first = await hierarchy(bob, ids.S, '?limit=2');
  assert.deepEqual(names(first.rooms), ['Space', 'A']);
  const second = await hierarchy(bob, ids.S, `?limit=2&from=${first.next_batch}`);
  assert.deepEqual(names(second.rooms), ['Subspace', 'D']);
  assert.equal(second.next_batch, undefined);
  const changed = await request(server.url, 'GET', path(ids.S, `?limit=2&max_depth=1&from=${first.next_batch}`), { token: bob.accessToken });
  await assertRefusal(changed, { method: 'GET', path: path(ids.S), status: 400, errcode: 'M_INVALID_PARAM', messageIncludes: 'max_depth' });
});

test('hierarchy refusals: a space the caller cannot see, an unknown room, bad parameters', async () => {
  await assertRefusal(await request(server.url, 'GET', path(ids.Private), { token: bob.accessToken }), { method: 'GET', path: path(ids.Private), status: 403, errcode: 'M_FORBIDDEN' });
  await assertRefusal(await request(server.url, 'GET', path('!nowhere:localhost'), { token: bob.accessToken }), { method: 'GET', path: path('!nowhere:localhost'), status: 403, errcode: 'M_FORBIDDEN' });
  for (const bad of ['limit=0', 'limit=101', 'max_depth=-1', 'max_depth=11', 'suggested_only=maybe', 'from=nope']) {
    const result = await request(server.url, 'GET', path(ids.S, `?${bad}`), { token: bob.accessToken });
    await assertRefusal(result, { method: 'GET', path: path(ids.S), status: 400, errcode: 'M_INVALID_PARAM' });
  }
});

test('room summary: public rooms for anyone (by ID or alias), private rooms for members and invitees only, 404 otherwise', async () => {
  const summaryPath = (room: string) => `/_matrix/client/v1/room_summary/${encodeURIComponent(room)}`;
  const get = (room: string, user?: TestUser) => request(server.url, 'GET', summaryPath(room), { token: user?.accessToken });
  const open = await createRoom(server, alice, { preset: 'public_chat', name: 'Open', topic: 'All welcome', room_alias_name: 'open-summary' });
  const anonymous = await get('#open-summary:localhost');
  assert.equal(anonymous.status, 200, JSON.stringify(anonymous.body));
  await assertMatchesSpec({ method: 'GET', path: summaryPath(open), status: 200, body: anonymous.body });
  assert.equal(anonymous.body.room_id, open);
  assert.equal(anonymous.body.name, 'Open');
  assert.equal(anonymous.body.topic, 'All welcome');
  assert.equal(anonymous.body.room_version, '11');
  assert.equal(anonymous.body.membership, undefined, 'no membership without a token');
  assert.equal((await get(open, alice)).body.membership, 'join');

  const closed = await createRoom(server, alice, { preset: 'private_chat', name: 'Closed' });
  const notFound = { method: 'GET', path: summaryPath(closed), status: 404, errcode: 'M_NOT_FOUND' };
  await assertRefusal(await get(closed), notFound);
  await assertRefusal(await get(closed, bob), notFound);
  assert.equal((await get(closed, alice)).body.name, 'Closed');
  await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(closed)}/invite`, { token: alice.accessToken, body: { user_id: bob.userId } });
  const invited = await get(closed, bob);
  assert.equal(invited.status, 200);
  assert.equal(invited.body.membership, 'invite');
  for (const unknown of ['!nowhere:localhost', '#nothing:localhost', 'not-a-room']) await assertRefusal(await get(unknown, bob), { ...notFound, path: summaryPath('!x:localhost') });
});
