import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomPost } from '../support/rooms.ts';

const SEARCH = '/_matrix/client/v3/user_directory/search';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let erin: TestUser;
let frank: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice', { displayname: 'Alice Liddell' });
  bob = await registerUser(server.url, 'bob', { displayname: 'Bob Builder' });
  carol = await registerUser(server.url, 'carol', { displayname: 'Carol Builder' });
  dave = await registerUser(server.url, 'dave', { displayname: 'Dave Builder' });
  erin = await registerUser(server.url, 'erin', { displayname: 'Erin Builder' });
  frank = await registerUser(server.url, 'frank', { displayname: 'Frank Builder' });
  // alice and bob share a private room; carol sits in a public room; dave only in a private room of his own;
  // erin in a world-readable invite-only room; frank in the public room but deactivated.
  const shared = await createRoom(server, alice, { preset: 'private_chat', invite: [bob.userId] });
  await roomPost(server, bob, shared, 'join');
  const open = await createRoom(server, carol, { preset: 'public_chat' });
  await roomPost(server, frank, open, 'join');
  await createRoom(server, dave, { preset: 'private_chat' });
  const readable = await createRoom(server, erin, { preset: 'private_chat' });
  assert.equal((await putState(server, erin, readable, 'm.room.history_visibility', '', { history_visibility: 'world_readable' })).status, 200);
  await deactivate(frank);
});
after(() => server.stop());

async function deactivate(user: TestUser): Promise<void> {
  const path = '/_matrix/client/v3/account/deactivate';
  const first = await request(server.url, 'POST', path, { token: user.accessToken, body: {} });
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password, session: first.body.session };
  assert.equal((await request(server.url, 'POST', path, { token: user.accessToken, body: { auth } })).status, 200);
}

async function search(user: TestUser, body: Record<string, unknown>) {
  const result = await request(server.url, 'POST', SEARCH, { token: user.accessToken, body });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: SEARCH, status: 200, body: result.body });
  return result.body;
}

test('user directory: users sharing a room, or in public or world-readable rooms; never deactivated ones', async () => {
  const found = await search(alice, { search_term: 'builder' });
  assert.deepEqual(found.results.map((user: any) => user.user_id), [bob.userId, carol.userId, erin.userId]);
  assert.equal(found.limited, false);
  assert.deepEqual(found.results[0], { user_id: bob.userId, display_name: 'Bob Builder' });
  const byId = await search(dave, { search_term: '@BO' });
  assert.deepEqual(byId.results, [], 'dave shares no room with bob, and bob is in no public room');
  assert.deepEqual((await search(dave, { search_term: 'carol' })).results.map((user: any) => user.user_id), [carol.userId], 'case-insensitive, by user ID');
  assert.deepEqual((await search(alice, { search_term: 'frank' })).results, []);
  assert.deepEqual((await search(alice, { search_term: '%' })).results, [], 'LIKE metacharacters match only themselves');
  assert.deepEqual((await search(alice, { search_term: '   ' })).results, []);
});

test('user directory: limit and limited; display-name matches first; refusals', async () => {
  const limited = await search(alice, { search_term: 'builder', limit: 2 });
  assert.equal(limited.results.length, 2);
  assert.equal(limited.limited, true);
  const ranked = await search(alice, { search_term: 'er' });
  assert.deepEqual(ranked.results.map((user: any) => user.user_id), [bob.userId, carol.userId, erin.userId], 'display-name matches (all "Builder"), then by user ID');
  const capped = await search(alice, { search_term: 'builder', limit: 500 });
  assert.equal(capped.results.length, 3, 'a limit above 50 is capped, not refused');
  for (const [body, errcode] of [[{}, 'M_MISSING_PARAM'], [{ search_term: 5 }, 'M_BAD_JSON'], [{ search_term: 'x', limit: -1 }, 'M_BAD_JSON'], [{ search_term: 'x'.repeat(257) }, 'M_BAD_JSON']] as const) {
    const result = await request(server.url, 'POST', SEARCH, { token: alice.accessToken, body });
    await assertRefusal(result, { method: 'POST', path: SEARCH, status: 400, errcode, checkSpec: false });
  }
  const anonymous = await request(server.url, 'POST', SEARCH, { body: { search_term: 'bob' } });
  await assertRefusal(anonymous, { method: 'POST', path: SEARCH, status: 401, errcode: 'M_MISSING_TOKEN', checkSpec: false });
});

test('publicRooms: room_types with null for untyped rooms, and an empty list as no filter', async () => {
  const plain = await createRoom(server, carol, { preset: 'public_chat', visibility: 'public', name: 'Plain' });
  const space = await createRoom(server, carol, { preset: 'public_chat', visibility: 'public', name: 'Space', creation_content: { type: 'm.space' } });
  const list = async (filter: Record<string, unknown>) => {
    const result = await request(server.url, 'POST', '/_matrix/client/v3/publicRooms', { token: alice.accessToken, body: { filter } });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/publicRooms', status: 200, body: result.body });
    return result.body.chunk.map((room: any) => room.room_id).sort();
  };
  assert.deepEqual(await list({ room_types: [null] }), [plain]);
  assert.deepEqual(await list({ room_types: ['m.space'] }), [space]);
  assert.deepEqual(await list({ room_types: [] }), [plain, space].sort());
  assert.deepEqual(await list({ room_types: [null, 'm.space'], generic_search_term: 'SPA' }), [space]);
});
