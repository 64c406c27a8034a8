import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, syncOnce } from '../support/rooms.ts';
import { waitFor } from '../support/wait-for.ts';
import { crossSigningKeys, testDevice } from '../support/e2ee-keys.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let encryptedRoom: string;

const ENCRYPTION = { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } };
const createEncryptedRoom = (user: TestUser) => createRoom(server, user, { preset: 'public_chat', initial_state: [ENCRYPTION] });
const join = async (user: TestUser, roomId: string) => assert.equal((await roomPost(server, user, roomId, 'join')).status, 200);
const leave = async (user: TestUser, roomId: string) => assert.equal((await roomPost(server, user, roomId, 'leave')).status, 200);

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  encryptedRoom = await createEncryptedRoom(alice);
  await join(bob, encryptedRoom);
});
after(() => server.stop());

const token = async (user: TestUser): Promise<string> => (await syncOnce(server, user, { timeout: '0' })).next_batch;
const deviceListsSince = async (user: TestUser, since: string) => (await syncOnce(server, user, { since, timeout: '0' })).device_lists ?? { changed: [], left: [] };

/** Starts a long-poll for `user`, waits until it is parked, runs `change`, and returns the woken response. */
async function wokenBy(user: TestUser, change: () => Promise<void>): Promise<any> {
  const since = await token(user);
  const path = `/_matrix/client/v3/sync?since=${since}&timeout=60000`;
  const polling = request(server.url, 'GET', path, { token: user.accessToken });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(user.userId) === 1 ? true : undefined));
  await change();
  const woken = await polling;
  assert.equal(woken.status, 200);
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: woken.body });
  return woken.body;
}

test("a peer's new device keys wake the long-poll and appear in device_lists.changed", async () => {
  const body = await wokenBy(alice, async () => {
    const device = testDevice(bob.userId, bob.deviceId);
    const uploaded = await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: bob.accessToken, body: { device_keys: device.deviceKeys } });
    assert.equal(uploaded.status, 200);
  });
  assert.deepEqual(body.device_lists, { changed: [bob.userId], left: [] });
});

test("the syncing user's own device changes appear in changed", async () => {
  const since = await token(alice);
  const device = testDevice(alice.userId, alice.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: alice.accessToken, body: { device_keys: device.deviceKeys } });
  assert.deepEqual(await deviceListsSince(alice, since), { changed: [alice.userId], left: [] });
  assert.deepEqual((await deviceListsSince(bob, since)).changed, [alice.userId], 'and her room peer hears of it');
});

test('rename, cross-signing upload and device deletion wake the peers of the user', async () => {
  const renamed = await wokenBy(alice, async () => {
    const result = await request(server.url, 'PUT', `/_matrix/client/v3/devices/${bob.deviceId}`, { token: bob.accessToken, body: { display_name: 'Phone' } });
    assert.equal(result.status, 200);
  });
  assert.deepEqual(renamed.device_lists.changed, [bob.userId]);

  const crossSigned = await wokenBy(alice, async () => {
    const result = await request(server.url, 'POST', '/_matrix/client/v3/keys/device_signing/upload', { token: bob.accessToken, body: crossSigningKeys(bob.userId).body });
    assert.equal(result.status, 200, JSON.stringify(result.body));
  });
  assert.deepEqual(crossSigned.device_lists.changed, [bob.userId]);

  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password, device_id: 'SPARE' },
  });
  const deleted = await wokenBy(alice, async () => {
    assert.equal((await request(server.url, 'POST', '/_matrix/client/v3/logout', { token: login.body.access_token, body: {} })).status, 200);
  });
  assert.deepEqual(deleted.device_lists.changed, [bob.userId]);
});

test('a user joining a shared encrypted room is in changed; leaving the last one puts them in left', async () => {
  const carol = await registerUser(server.url, 'carol');
  const second = await createEncryptedRoom(alice);
  const t0 = await token(alice);
  await join(carol, encryptedRoom);
  await join(carol, second);
  const t1 = await token(alice);
  assert.deepEqual(await deviceListsSince(alice, t0), { changed: [carol.userId], left: [] });

  await leave(carol, encryptedRoom);
  const t2 = await token(alice);
  assert.deepEqual(await deviceListsSince(alice, t1), { changed: [], left: [] }, 'still sharing the second encrypted room');

  await leave(carol, second);
  const t3 = await token(alice);
  assert.deepEqual(await deviceListsSince(alice, t2), { changed: [], left: [carol.userId] });

  const path = `/_matrix/client/v3/keys/changes?from=${t0}&to=${t3}`;
  const changes = await request(server.url, 'GET', path, { token: alice.accessToken });
  assert.equal(changes.status, 200);
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: changes.body });
  assert.deepEqual(changes.body, { changed: [], left: [carol.userId] }, '/keys/changes over the whole range: joined and left again');
  const firstPart = await request(server.url, 'GET', `/_matrix/client/v3/keys/changes?from=${t0}&to=${t1}`, { token: alice.accessToken });
  assert.deepEqual(firstPart.body, { changed: [carol.userId], left: [] });
});

test('joining an encrypted room puts its members in changed; an unencrypted room does not', async () => {
  const [dave, erin, frank] = await Promise.all(['dave', 'erin', 'frank'].map((name) => registerUser(server.url, name)));
  const theirs = await createEncryptedRoom(dave);
  await join(erin, theirs);
  const plain = await createRoom(server, frank, { preset: 'public_chat' });
  const since = await token(alice);
  await join(alice, plain);
  await join(alice, theirs);
  const lists = await deviceListsSince(alice, since);
  assert.deepEqual(lists.changed, [dave.userId, erin.userId].sort(), 'not frank (unencrypted room), not alice herself');
  assert.deepEqual(lists.left, []);

  const beforeLeaving = await token(alice);
  await leave(alice, theirs);
  assert.deepEqual(await deviceListsSince(alice, beforeLeaving), { changed: [], left: [dave.userId, erin.userId].sort() }, 'the syncer left their only shared encrypted room');
});

test('an initial sync carries no device_lists; a quiet incremental one carries none either', async () => {
  const initial = await syncOnce(server, alice, { timeout: '0' });
  assert.equal(initial.device_lists, undefined);
  const quiet = await syncOnce(server, alice, { since: initial.next_batch, timeout: '0' });
  assert.equal(quiet.device_lists, undefined);
  assert.ok(quiet.device_one_time_keys_count, 'counts are there all the same');
});
