import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost } from '../support/rooms.ts';
import { userRequest } from '../support/user-data.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';

// Complemau's DirectoryExcludesAppserviceUsers: as in Synapse, an appservice's sender and the
// users of its exclusive namespaces stay out of /user_directory/search, whatever their name.
const bridge = makeRegistration('bridge');
const open = makeRegistration('open', { namespaces: { users: [{ regex: '@shared_.*:localhost', exclusive: false }] } });
let server: TestServer;
let searcher: TestUser;
let roomId: string;

const SEARCH = '/_matrix/client/v3/user_directory/search';
const search = async (body: Record<string, unknown>) => {
  const result = await userRequest(server, searcher, 'POST', SEARCH, body);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body as { results: Array<{ user_id: string; display_name?: string }>; limited: boolean };
};
const ids = (body: { results: Array<{ user_id: string }> }) => body.results.map((result) => result.user_id);
const as = (method: string, path: string, userId: string | undefined, body: unknown, token = bridge.as_token) =>
  request(server.url, method, userId ? `${path}?user_id=${encodeURIComponent(userId)}` : path, { token, body });

async function ghost(localpart: string, registration = bridge): Promise<string> {
  const made = await as('POST', '/_matrix/client/v3/register', undefined, { type: 'm.login.application_service', username: localpart, inhibit_login: true }, registration.as_token);
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const userId = made.body.user_id as string;
  assert.equal((await as('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, userId, {}, registration.as_token)).status, 200);
  return userId;
}
const setName = (userId: string, displayname: string, token = bridge.as_token) =>
  as('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/displayname`, userId, { displayname }, token);

before(async () => {
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([bridge, open]) });
  searcher = await registerUser(server.url, 'searcher');
  roomId = await createRoom(server, searcher, { preset: 'public_chat', visibility: 'public' });
});
after(() => server.stop());

async function marker(localpart: string, displayname: string): Promise<TestUser> {
  const user = await registerUser(server.url, localpart);
  await userRequest(server, user, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, { displayname });
  await roomPost(server, user, roomId, 'join');
  return user;
}

test('a ghost in an exclusive namespace is not found by its ID, nor after a profile change', async () => {
  const member = await ghost('bridge_directoryghost');
  const named = await ghost('bridge_directoryprofile');
  assert.equal((await setName(named, 'GhostProfileName')).status, 200);
  const byId = await marker('someone', 'directoryghost');
  const byName = await marker('another', 'GhostProfileName');

  assert.deepEqual(ids(await search({ search_term: 'directoryghost' })), [byId.userId], `${member} is left out`);
  assert.deepEqual(ids(await search({ search_term: 'GhostProfileName' })), [byName.userId]);
});

test('the appservice sender is not found, by ID or by a name it sets', async () => {
  const sender = `@${bridge.sender_localpart}:localhost`;
  assert.equal((await as('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, undefined, {})).status, 200);
  assert.equal((await setName(sender, 'SenderProfileName')).status, 200);
  const byId = await marker('bridgefan', 'bridge_bot fan');
  const byName = await marker('namesake', 'SenderProfileName');

  assert.deepEqual(ids(await search({ search_term: 'bridge_bot' })), [byId.userId]);
  assert.deepEqual(ids(await search({ search_term: 'SenderProfileName' })), [byName.userId]);
});

test('users of a non-exclusive namespace are still found', async () => {
  const shared = await ghost('shared_person', open);
  assert.deepEqual(ids(await search({ search_term: 'shared_person' })), [shared]);
});

test('many matching ghosts do not crowd people out of a limited search', async () => {
  for (let n = 0; n < 30; n++) await ghost(`bridge_lamp${String(n).padStart(2, '0')}`);
  // Sorted after every ghost, so finding it means reading past them.
  const person = await marker('zz_lamp', 'zz');
  const first = await search({ search_term: 'lamp', limit: 1 });
  assert.deepEqual(ids(first), [person.userId]);
  assert.equal(first.limited, false);
  assert.deepEqual(ids(await search({ search_term: 'lamp' })), [person.userId]);
});
