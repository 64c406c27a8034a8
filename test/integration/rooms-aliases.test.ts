import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomGet, roomPost } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const aliasPath = (alias: string) => `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`;

test('create, look up, list and delete an alias', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const put = await request(server.url, 'PUT', aliasPath('#team:localhost'), { token: alice.accessToken, body: { room_id: roomId } });
  assert.equal(put.status, 200);
  await assertMatchesSpec({ method: 'PUT', path: aliasPath('#team:localhost'), status: 200, body: put.body });

  const got = await request(server.url, 'GET', aliasPath('#team:localhost'));
  await assertMatchesSpec({ method: 'GET', path: aliasPath('#team:localhost'), status: 200, body: got.body });
  assert.deepEqual(got.body, { room_id: roomId, servers: ['localhost'] });

  const listed = await roomGet(server, alice, roomId, 'aliases');
  await assertMatchesSpec({ method: 'GET', path: `/_matrix/client/v3/rooms/${roomId}/aliases`, status: 200, body: listed.body });
  assert.deepEqual(listed.body.aliases, ['#team:localhost']);
  assert.equal((await roomGet(server, bob, roomId, 'aliases')).status, 403, 'non-members cannot list');

  await roomPost(server, bob, roomId, 'join');
  const byBob = await request(server.url, 'DELETE', aliasPath('#team:localhost'), { token: bob.accessToken });
  await assertRefusal(byBob, { method: 'DELETE', path: aliasPath('#team:localhost'), status: 403, errcode: 'M_FORBIDDEN', checkSpec: false });
  const deleted = await request(server.url, 'DELETE', aliasPath('#team:localhost'), { token: alice.accessToken });
  assert.equal(deleted.status, 200);
  await assertMatchesSpec({ method: 'DELETE', path: aliasPath('#team:localhost'), status: 200, body: deleted.body });
  await assertRefusal(await request(server.url, 'GET', aliasPath('#team:localhost')), { method: 'GET', path: aliasPath('#team:localhost'), status: 404, errcode: 'M_NOT_FOUND' });
});

test('alias refusals: taken, malformed, another server, not a member', async () => {
  const roomId = await createRoom(server, alice);
  const put = (user: TestUser, alias: string) => request(server.url, 'PUT', aliasPath(alias), { token: user.accessToken, body: { room_id: roomId } });
  assert.equal((await put(alice, '#mine:localhost')).status, 200);
  await assertRefusal(await put(alice, '#mine:localhost'), { method: 'PUT', path: aliasPath('#mine:localhost'), status: 409, errcode: 'M_UNKNOWN' });
  await assertRefusal(await put(alice, 'mine'), { method: 'PUT', path: aliasPath('mine'), status: 400, errcode: 'M_INVALID_PARAM' });
  await assertRefusal(await put(alice, '#x:elsewhere.example'), { method: 'PUT', path: aliasPath('#x:elsewhere.example'), status: 400, errcode: 'M_INVALID_PARAM', messageIncludes: 'this server' });
  await assertRefusal(await put(bob, '#bobs:localhost'), { method: 'PUT', path: aliasPath('#bobs:localhost'), status: 403, errcode: 'M_FORBIDDEN', checkSpec: false });
  const aliases = await server.app.db.selectFrom('room_aliases').select('room_alias').where('room_id', '=', roomId).execute();
  assert.deepEqual(aliases.map((row) => row.room_alias), ['#mine:localhost'], 'refusals stored nothing');
});

test('the published room directory: publish, list, search, page, unpublish', async () => {
  const general = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat', name: 'General', topic: 'Everything' });
  const space = await createRoom(server, alice, { preset: 'public_chat', name: 'Team space', creation_content: { type: 'm.space' } });
  await createRoom(server, alice, { name: 'Private' });
  const listPath = (roomId: string) => `/_matrix/client/v3/directory/list/room/${roomId}`;

  const initial = await request(server.url, 'GET', listPath(space));
  await assertMatchesSpec({ method: 'GET', path: listPath(space), status: 200, body: initial.body });
  assert.equal(initial.body.visibility, 'private');
  await roomPost(server, bob, space, 'join');
  const byMember = await request(server.url, 'PUT', listPath(space), { token: bob.accessToken, body: { visibility: 'public' } });
  await assertRefusal(byMember, { method: 'PUT', path: listPath(space), status: 403, errcode: 'M_FORBIDDEN', checkSpec: false });
  const published = await request(server.url, 'PUT', listPath(space), { token: alice.accessToken, body: { visibility: 'public' } });
  assert.equal(published.status, 200);
  await assertMatchesSpec({ method: 'PUT', path: listPath(space), status: 200, body: published.body });

  const all = await request(server.url, 'GET', '/_matrix/client/v3/publicRooms', { token: bob.accessToken });
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/publicRooms', status: 200, body: all.body });
  assert.deepEqual(all.body.chunk.map((room: any) => room.name), ['Team space', 'General'], 'most members first');
  assert.equal(all.body.chunk[1].topic, 'Everything');
  assert.equal(all.body.chunk[0].room_type, 'm.space');

  const searched = await request(server.url, 'POST', '/_matrix/client/v3/publicRooms', { token: bob.accessToken, body: { filter: { generic_search_term: 'gener' } } });
  await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/publicRooms', status: 200, body: searched.body });
  assert.deepEqual(searched.body.chunk.map((room: any) => room.room_id), [general]);
  const spaces = await request(server.url, 'POST', '/_matrix/client/v3/publicRooms', { token: bob.accessToken, body: { filter: { room_types: ['m.space'] } } });
  assert.deepEqual(spaces.body.chunk.map((room: any) => room.room_id), [space]);

  const first = await request(server.url, 'GET', '/_matrix/client/v3/publicRooms?limit=1', { token: bob.accessToken });
  const second = await request(server.url, 'GET', `/_matrix/client/v3/publicRooms?limit=1&since=${first.body.next_batch}`, { token: bob.accessToken });
  assert.deepEqual([first.body.chunk[0].room_id, second.body.chunk[0].room_id], [space, general]);
  assert.equal(second.body.next_batch, undefined);
  assert.equal((await request(server.url, 'GET', '/_matrix/client/v3/publicRooms?since=bogus', { token: bob.accessToken })).status, 400);

  await request(server.url, 'PUT', listPath(space), { token: alice.accessToken, body: { visibility: 'private' } });
  const after = await request(server.url, 'GET', '/_matrix/client/v3/publicRooms', { token: bob.accessToken });
  assert.deepEqual(after.body.chunk.map((room: any) => room.room_id), [general]);
});
