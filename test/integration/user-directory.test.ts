import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost } from '../support/rooms.ts';
import { userRequest } from '../support/user-data.ts';

let server: TestServer;
let alice: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
});
after(() => server.stop());

const SEARCH = '/_matrix/client/v3/user_directory/search';
const search = async (user: TestUser, body: unknown) => {
  const result = await userRequest(server, user, 'POST', SEARCH, body);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body;
};

test('finds users sharing a room or in a public room, by ID or display name; never strangers', async () => {
  const bob = await registerUser(server.url, 'bob');
  const carol = await registerUser(server.url, 'carol');
  const stranger = await registerUser(server.url, 'stranger');
  const shared = await createRoom(server, alice, { preset: 'private_chat' });
  await roomPost(server, alice, shared, 'invite', { user_id: bob.userId });
  await roomPost(server, bob, shared, 'join');
  await createRoom(server, carol, { preset: 'public_chat' });
  await createRoom(server, stranger, { preset: 'private_chat' });
  await userRequest(server, carol, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(carol.userId)}/displayname`, { displayname: 'Caroline Herschel' });
  await userRequest(server, stranger, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(stranger.userId)}/displayname`, { displayname: 'Hidden Herschel' });

  assert.deepEqual((await search(alice, { search_term: 'BOB' })).results, [{ user_id: bob.userId, display_name: 'bob' }]);
  assert.deepEqual((await search(alice, { search_term: 'herschel' })).results, [{ user_id: carol.userId, display_name: 'Caroline Herschel' }], 'carol is in a public room; the stranger is not found');
  assert.deepEqual((await search(alice, { search_term: 'stranger' })).results, []);
  assert.deepEqual((await search(alice, { search_term: '%' })).results, [], 'LIKE wildcards are matched literally');
  assert.deepEqual((await search(alice, { search_term: '   ' })).results, []);

  const limited = await search(alice, { search_term: ':localhost', limit: 1 });
  assert.equal(limited.results.length, 1);
  assert.equal(limited.limited, true);
  const all = await search(alice, { search_term: ':localhost' });
  assert.deepEqual(all.results.map((result: any) => result.user_id).sort(), [alice.userId, bob.userId, carol.userId].sort());
  assert.equal(all.limited, false);
});

test('refusals: no search term, an overlong one, a bad limit, no token', async () => {
  const cases = [
    { token: alice.accessToken, body: { limit: 5 }, status: 400, errcode: 'M_MISSING_PARAM' },
    { token: alice.accessToken, body: { search_term: 'x'.repeat(257) }, status: 400, errcode: 'M_BAD_JSON' },
    { token: alice.accessToken, body: { search_term: 'x', limit: -1 }, status: 400, errcode: 'M_BAD_JSON' },
    { token: undefined, body: { search_term: 'x' }, status: 401, errcode: 'M_MISSING_TOKEN' },
  ];
  for (const refusal of cases) {
    const result = await request(server.url, 'POST', SEARCH, { token: refusal.token, body: refusal.body });
    await assertRefusal(result, { ...refusal, method: 'POST', path: SEARCH, checkSpec: false });
  }
});
