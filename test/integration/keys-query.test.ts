import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { STREAMS } from '../../server/sync/stream-token.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { testDevice, type TestDevice } from '../support/e2ee-keys.ts';
import { createRoom, roomPost, syncOnce } from '../support/rooms.ts';
import { currentDeviceListPosition, deviceListChangesSince } from '../../server/e2ee/device-list-stream.ts';

const QUERY = '/_matrix/client/v3/keys/query';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let bobDevice: TestDevice;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  bobDevice = testDevice(bob.userId, bob.deviceId);
  await request(server.url, 'PUT', `/_matrix/client/v3/devices/${bob.deviceId}`, { token: bob.accessToken, body: { display_name: "Bob's phone" } });
  const uploaded = await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', {
    token: bob.accessToken,
    body: { device_keys: bobDevice.deviceKeys, one_time_keys: bobDevice.oneTimeKeys(2) },
  });
  assert.equal(uploaded.status, 200);
});
after(() => server.stop());

const query = (user: TestUser, body: unknown) => request(server.url, 'POST', QUERY, { token: user.accessToken, body });

test('device keys come back as uploaded, with the display name in unsigned', async () => {
  const result = await query(alice, { device_keys: { [bob.userId]: [] } });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: QUERY, status: 200, body: result.body });
  const device = result.body.device_keys[bob.userId][bob.deviceId];
  assert.deepEqual({ ...device, unsigned: undefined }, { ...bobDevice.deviceKeys, unsigned: undefined });
  assert.deepEqual(device.unsigned, { device_display_name: "Bob's phone" });

  const named = await query(alice, { device_keys: { [bob.userId]: [bob.deviceId, 'OTHER'] } });
  assert.deepEqual(Object.keys(named.body.device_keys[bob.userId]), [bob.deviceId]);
});

test('users without keys, unknown users and remote users', async () => {
  const result = await query(alice, { device_keys: { [alice.userId]: [], '@ghost:localhost': [], '@carol:remote.example': [] } });
  assert.equal(result.status, 200);
  await assertMatchesSpec({ method: 'POST', path: QUERY, status: 200, body: result.body });
  assert.deepEqual(result.body.device_keys[alice.userId], {});
  assert.deepEqual(result.body.device_keys['@ghost:localhost'], {});
  assert.equal(result.body.device_keys['@carol:remote.example'], undefined);
  assert.ok(result.body.failures['remote.example']);
});

test('bad queries are refused', async () => {
  const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`@u${i}:localhost`, []]));
  const cases: [unknown, number, string][] = [
    [{}, 400, 'M_MISSING_PARAM'],
    [{ device_keys: { [bob.userId]: 'all' } }, 400, 'M_BAD_JSON'],
    [{ device_keys: many }, 413, 'M_TOO_LARGE'],
    [{ device_keys: { [bob.userId]: Array.from({ length: 1001 }, (_, i) => `D${i}`) } }, 413, 'M_TOO_LARGE'],
    [{ device_keys: Object.fromEntries(Array.from({ length: 11 }, (_, u) => [`@u${u}:localhost`, Array.from({ length: 1000 }, (_, i) => `D${i}`)])) }, 413, 'M_TOO_LARGE'],
  ];
  for (const [body, status, errcode] of cases) await assertRefusal(await query(alice, body), { status, errcode, method: 'POST', path: QUERY, checkSpec: false });
});

/** A /sync `next_batch` token as of now (what /keys/changes takes). */
const syncToken = async (user: TestUser): Promise<string> => (await syncOnce(server, user, { timeout: '0' })).next_batch;

test('/keys/changes lists the caller when their device list changed between two sync tokens', async () => {
  const carol = await registerUser(server.url, 'carol');
  const before = await syncToken(carol);
  const positionBefore = await currentDeviceListPosition(server.app.db);
  const device = testDevice(carol.userId, carol.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: carol.accessToken, body: { device_keys: device.deviceKeys } });
  const afterUpload = await syncToken(carol);
  assert.ok((await currentDeviceListPosition(server.app.db)) > positionBefore);

  const path = `/_matrix/client/v3/keys/changes?from=${before}&to=${afterUpload}`;
  const changes = await request(server.url, 'GET', path, { token: carol.accessToken });
  assert.equal(changes.status, 200, JSON.stringify(changes.body));
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: changes.body });
  assert.deepEqual(changes.body, { changed: [carol.userId], left: [] });
  const none = await request(server.url, 'GET', `/_matrix/client/v3/keys/changes?from=${afterUpload}&to=${afterUpload}`, { token: carol.accessToken });
  assert.deepEqual(none.body.changed, []);

  assert.deepEqual(await deviceListChangesSince(server.app.db, [carol.userId, alice.userId], positionBefore, await currentDeviceListPosition(server.app.db)), [carol.userId]);
  for (const bad of ['from=s12_3&to=4', 'from=s1', `from=s1&to=s${'9'.repeat(40)}`, `from=s${'1_'.repeat(STREAMS.length)}1&to=s1`, `from=${'s1'.repeat(200)}&to=s1`]) {
    const refused = await request(server.url, 'GET', `/_matrix/client/v3/keys/changes?${bad}`, { token: carol.accessToken });
    assert.equal(refused.status, 400, bad);
    assert.ok(['M_INVALID_PARAM', 'M_MISSING_PARAM'].includes(refused.body.errcode), JSON.stringify(refused.body));
  }
});

test('deleting a device deletes its keys and records a device-list change', async () => {
  const dave = await registerUser(server.url, 'dave');
  const device = testDevice(dave.userId, dave.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', {
    token: dave.accessToken,
    body: { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(3), fallback_keys: device.fallbackKey() },
  });
  const before = await currentDeviceListPosition(server.app.db);
  const logout = await request(server.url, 'POST', '/_matrix/client/v3/logout', { token: dave.accessToken, body: {} });
  assert.equal(logout.status, 200);
  for (const table of ['device_keys', 'one_time_keys', 'fallback_keys'] as const) {
    const rows = await server.app.db.selectFrom(table).select('user_id').where('user_id', '=', dave.userId).execute();
    assert.deepEqual(rows, [], table);
  }
  const after = await currentDeviceListPosition(server.app.db);
  assert.deepEqual(await deviceListChangesSince(server.app.db, dave.userId, before, after), [dave.userId]);
  const result = await query(alice, { device_keys: { [dave.userId]: [] } });
  assert.deepEqual(result.body.device_keys[dave.userId], {});
});

test('/keys/changes lists users who share a joined room with the caller, and nobody else', async () => {
  const [erin, frank, gina] = await Promise.all(['erin', 'frank', 'gina'].map((name) => registerUser(server.url, name)));
  const roomId = await createRoom(server, erin, { preset: 'public_chat' });
  assert.equal((await roomPost(server, frank, roomId, 'join')).status, 200);
  const from = await syncToken(erin);
  for (const user of [frank, gina]) {
    const device = testDevice(user.userId, user.deviceId);
    const uploaded = await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: user.accessToken, body: { device_keys: device.deviceKeys } });
    assert.equal(uploaded.status, 200);
  }
  const to = await syncToken(erin);
  const changes = await request(server.url, 'GET', `/_matrix/client/v3/keys/changes?from=${from}&to=${to}`, { token: erin.accessToken });
  assert.deepEqual(changes.body.changed, [frank.userId], 'frank shares a room with erin; gina does not');
});
