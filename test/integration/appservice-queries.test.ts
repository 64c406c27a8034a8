import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost } from '../support/rooms.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice } from '../support/appservice.ts';

let server: TestServer;
let fake: FakeAppservice;
let alice: TestUser;
const registration = makeRegistration('portal', {
  namespaces: { users: [{ regex: '@portal_.*:localhost', exclusive: true }], aliases: [{ regex: '#portal_.*:localhost', exclusive: true }], rooms: [] },
});

before(async () => {
  fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  alice = await registerUser(server.url, 'alice');
  // Like a bridge: ghosts and portal rooms are created when the homeserver asks, names starting "yes" only.
  fake.onQuery = async (kind, id) => {
    const localpart = id.slice(1, id.indexOf(':'));
    if (!localpart.startsWith('portal_yes')) return 404;
    if (kind === 'users') {
      const made = await request(server.url, 'POST', '/_matrix/client/v3/register', { token: registration.as_token, body: { type: 'm.login.application_service', username: localpart, inhibit_login: true } });
      return made.status;
    }
    const made = await request(server.url, 'POST', '/_matrix/client/v3/createRoom', { token: registration.as_token, body: { preset: 'public_chat', room_alias_name: localpart } });
    return made.status;
  };
});
after(async () => {
  await server?.stop();
  await fake?.close();
});

test('an unknown alias in an appservice namespace is asked of it, which may create the room', async () => {
  const path = `/_matrix/client/v3/directory/room/${encodeURIComponent('#portal_yes_lobby:localhost')}`;
  const found = await request(server.url, 'GET', path);
  assert.equal(found.status, 200, JSON.stringify(found.body));
  assert.match(found.body.room_id, /^!/);
  assert.deepEqual(fake.queries, [{ kind: 'rooms', id: '#portal_yes_lobby:localhost' }]);
  // Known now: not asked again; and joining by alias works.
  const joined = await request(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent('#portal_yes_lobby:localhost')}`, { token: alice.accessToken, body: {} });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  assert.equal(fake.queries.length, 1);
});

test('an alias the appservice does not know, or outside every namespace, is not found', async () => {
  const refused = `/_matrix/client/v3/directory/room/${encodeURIComponent('#portal_no_such:localhost')}`;
  await assertRefusal(await request(server.url, 'GET', refused), { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: '/_matrix/client/v3/directory/room/{roomAlias}' });
  const before = fake.queries.length;
  const outside = `/_matrix/client/v3/directory/room/${encodeURIComponent('#elsewhere:localhost')}`;
  await assertRefusal(await request(server.url, 'GET', outside), { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: '/_matrix/client/v3/directory/room/{roomAlias}' });
  assert.equal(fake.queries.length, before, 'an alias outside the namespaces is not asked about');
});

test('inviting an unknown user in an appservice namespace asks the appservice, which may create the ghost', async () => {
  const roomId = await createRoom(server, alice, { preset: 'private_chat' });
  const invited = await roomPost(server, alice, roomId, 'invite', { user_id: '@portal_yes_ghost:localhost' });
  assert.equal(invited.status, 200, JSON.stringify(invited.body));
  assert.ok(fake.queries.some((query) => query.kind === 'users' && query.id === '@portal_yes_ghost:localhost'));
  const refused = await roomPost(server, alice, roomId, 'invite', { user_id: '@portal_no_ghost:localhost' });
  assert.equal(refused.status, 404);
  assert.equal(refused.body.errcode, 'M_NOT_FOUND');
  const row = await server.app.db.selectFrom('users').select('user_id').where('user_id', '=', '@portal_no_ghost:localhost').executeTakeFirst();
  assert.equal(row, undefined);
});

test('exclusive alias namespaces: users cannot claim them, the appservice claims only inside its namespaces', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const put = (alias: string, token: string) =>
    request(server.url, 'PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, { token, body: { room_id: roomId } });
  const path = '/_matrix/client/v3/directory/room/{roomAlias}';
  await assertRefusal(await put('#portal_taken:localhost', alice.accessToken), { status: 400, errcode: 'M_EXCLUSIVE', method: 'PUT', path, checkSpec: false });
  const viaCreate = await request(server.url, 'POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { room_alias_name: 'portal_mine' } });
  await assertRefusal(viaCreate, { status: 400, errcode: 'M_EXCLUSIVE', method: 'POST', path: '/_matrix/client/v3/createRoom', checkSpec: false });
  // The appservice's bot joins, then may claim inside its namespace but not outside.
  assert.equal((await request(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: registration.as_token, body: {} })).status, 200);
  await assertRefusal(await put('#someone_elses:localhost', registration.as_token), { status: 400, errcode: 'M_EXCLUSIVE', method: 'PUT', path, checkSpec: false });
  assert.equal((await put('#portal_claimed:localhost', registration.as_token)).status, 200);
  assert.equal((await put('#free_for_all:localhost', alice.accessToken)).status, 200, 'aliases outside exclusive namespaces stay open');
  const aliases = await server.app.db.selectFrom('room_aliases').select('room_alias').where('room_id', '=', roomId).orderBy('room_alias').execute();
  assert.deepEqual(aliases.map((row) => row.room_alias), ['#free_for_all:localhost', '#portal_claimed:localhost']);
});
