import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DecryptionSettings, DehydratedDeviceKey, DeviceId, EncryptionSettings, OlmMachine, RoomId, TrustRequirement, UserId } from '@matrix-org/matrix-sdk-crypto-wasm';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { olmClient, type OlmClient } from '../support/olm-client.ts';

/** Dehydrated devices (MSC3814), at the API and with the Rust crypto's own dehydration. */
const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const clients: OlmClient[] = [];

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(async () => {
  for (const client of clients) client.close();
  await server.stop();
});

const call = (user: TestUser, method: string, path: string, body?: unknown) => request(server.url, method, `${PREFIX}${path}`, { token: user.accessToken, body });
const devicesOf = async (user: TestUser) =>
  (await server.app.db.selectFrom('devices').select('device_id').where('user_id', '=', user.userId).orderBy('device_id').execute()).map((row) => row.device_id);

function dehydratedUpload(user: TestUser, deviceId: string) {
  const device = testDevice(user.userId, deviceId);
  return { device_id: deviceId, device_data: { algorithm: 'org.matrix.msc3814.v1.olm', device_pickle: 'opaque' }, initial_device_display_name: 'Dehydrated', device_keys: { ...device.deviceKeys }, one_time_keys: device.oneTimeKeys(3) };
}

test('a dehydrated device is stored, served, queried like any device, and replaced by the next one', async () => {
  assert.equal((await request(server.url, 'GET', '/_matrix/client/versions')).body.unstable_features['org.matrix.msc3814'], true);
  assert.equal((await call(alice, 'GET', '/dehydrated_device')).body.errcode, 'M_NOT_FOUND');

  const put = await call(alice, 'PUT', '/dehydrated_device', dehydratedUpload(alice, 'DEHYDRATED1'));
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual(put.body, { device_id: 'DEHYDRATED1' });
  const got = await call(alice, 'GET', '/dehydrated_device');
  assert.deepEqual(got.body, { device_id: 'DEHYDRATED1', device_data: { algorithm: 'org.matrix.msc3814.v1.olm', device_pickle: 'opaque' } });
  const query = await request(server.url, 'POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [] } } });
  assert.ok(query.body.device_keys[alice.userId].DEHYDRATED1, 'others see it and can encrypt to it');
  const claim = await request(server.url, 'POST', '/_matrix/client/v3/keys/claim', { token: bob.accessToken, body: { one_time_keys: { [alice.userId]: { DEHYDRATED1: 'signed_curve25519' } } } });
  assert.equal(Object.keys(claim.body.one_time_keys[alice.userId].DEHYDRATED1).length, 1);

  const replaced = await call(alice, 'PUT', '/dehydrated_device', dehydratedUpload(alice, 'DEHYDRATED2'));
  assert.equal(replaced.status, 200);
  assert.deepEqual(await devicesOf(alice), [alice.deviceId, 'DEHYDRATED2'].sort(), 'the previous dehydrated device is gone');

  const deleted = await call(alice, 'DELETE', '/dehydrated_device');
  assert.deepEqual(deleted.body, { device_id: 'DEHYDRATED2' });
  assert.deepEqual(await devicesOf(alice), [alice.deviceId]);
  assert.equal((await call(alice, 'DELETE', '/dehydrated_device')).body.errcode, 'M_NOT_FOUND');
});

test("to-device messages for the dehydrated device come page by page; next_batch acknowledges", async () => {
  await call(bob, 'PUT', '/dehydrated_device', dehydratedUpload(bob, 'BOBDEHYDRATED'));
  for (let n = 0; n < 150; n++) {
    const sent = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/org.example.test/d${n}`, {
      token: alice.accessToken,
      body: { messages: { [bob.userId]: { BOBDEHYDRATED: { n } } } },
    });
    assert.equal(sent.status, 200);
  }
  const seen: number[] = [];
  let nextBatch: string | undefined;
  for (;;) {
    const page = await call(bob, 'POST', '/dehydrated_device/BOBDEHYDRATED/events', nextBatch ? { next_batch: nextBatch } : {});
    assert.equal(page.status, 200, JSON.stringify(page.body));
    if (page.body.events.length === 0) break;
    seen.push(...page.body.events.map((event: any) => event.content.n));
    nextBatch = page.body.next_batch;
  }
  assert.deepEqual(seen, Array.from({ length: 150 }, (_, n) => n));
  const left = await server.app.db.selectFrom('to_device_messages').select('position').where('recipient_device_id', '=', 'BOBDEHYDRATED').execute();
  assert.equal(left.length, 0, 'every page was acknowledged by the next request');
});

test("refusals: a device ID already in use, bad bodies, another user's device, a bad next_batch", async () => {
  const carol = await registerUser(server.url, 'carol');
  const before = await devicesOf(carol);
  const cases: Array<[string, string, unknown, number, string]> = [
    ['PUT', '/dehydrated_device', dehydratedUpload(carol, carol.deviceId), 400, 'M_INVALID_PARAM'],
    ['PUT', '/dehydrated_device', { device_id: 'X' }, 400, 'M_MISSING_PARAM'],
    ['PUT', '/dehydrated_device', { device_id: 'X', device_data: 'nope' }, 400, 'M_BAD_JSON'],
    ['PUT', '/dehydrated_device', { device_id: 'X', device_data: { pad: 'x'.repeat(70_000) } }, 413, 'M_TOO_LARGE'],
    ['PUT', '/dehydrated_device', { ...dehydratedUpload(carol, 'CAROLD'), device_keys: testDevice(carol.userId, 'OTHER').deviceKeys }, 400, 'M_INVALID_PARAM'],
    ['POST', '/dehydrated_device/BOBDEHYDRATED/events', {}, 404, 'M_NOT_FOUND'],
    ['POST', '/dehydrated_device/NOPE/events', {}, 404, 'M_NOT_FOUND'],
  ];
  for (const [method, path, body, status, errcode] of cases) {
    await assertRefusal(await call(carol, method, path, body), { status, errcode, method, path: `${PREFIX}${path}`, checkSpec: false });
  }
  assert.deepEqual(await devicesOf(carol), before, 'no device was created by a refused request');
  await call(carol, 'PUT', '/dehydrated_device', dehydratedUpload(carol, 'CAROLD'));
  await assertRefusal(await call(carol, 'POST', '/dehydrated_device/CAROLD/events', { next_batch: 'x1' }), {
    status: 400,
    errcode: 'M_INVALID_PARAM',
    method: 'POST',
    path: `${PREFIX}/dehydrated_device/CAROLD/events`,
    checkSpec: false,
  });
});

test('the Rust crypto dehydrates a device, receives a room key on it while offline, and a new device rehydrates it', async () => {
  const [dave, erin] = await Promise.all(['dave', 'erin'].map((name) => registerUser(server.url, name)));
  const daveFirst = await olmClient(server, dave);
  const erinClient = await olmClient(server, erin);
  clients.push(daveFirst, erinClient);
  await daveFirst.flush();
  await erinClient.flush();

  // A dehydrated device is signed by its owner's self-signing key: cross-signing comes first.
  const crossSigning = await daveFirst.machine.bootstrapCrossSigning(true);
  if (crossSigning.uploadKeysRequest) await daveFirst.send(crossSigning.uploadKeysRequest);
  const signing = await request(server.url, 'POST', '/_matrix/client/v3/keys/device_signing/upload', { token: dave.accessToken, body: JSON.parse(crossSigning.uploadSigningKeysRequest.body) });
  assert.equal(signing.status, 200, JSON.stringify(signing.body));
  await daveFirst.send(crossSigning.uploadSignaturesRequest);

  const dehydrationKey = DehydratedDeviceKey.createRandomKey();
  const dehydrated = await daveFirst.machine.dehydratedDevices().create();
  const upload = await dehydrated.keysForUpload('Dehydrated device', dehydrationKey);
  const put = await call(dave, 'PUT', '/dehydrated_device', JSON.parse(upload.body));
  assert.equal(put.status, 200, JSON.stringify(put.body));

  // Erin shares a room key with all of dave's devices, the dehydrated one included.
  const room = new RoomId('!dehydration:localhost');
  await erinClient.machine.updateTrackedUsers([new UserId(dave.userId)]);
  await erinClient.flush();
  const claim = await erinClient.machine.getMissingSessions([new UserId(dave.userId)]);
  if (claim) await erinClient.send(claim);
  for (const toDevice of await erinClient.machine.shareRoomKey(room, [new UserId(dave.userId)], new EncryptionSettings())) await erinClient.send(toDevice);
  const encrypted = await erinClient.machine.encryptRoomEvent(room, 'm.room.message', JSON.stringify({ msgtype: 'm.text', body: 'while you were away' }));

  // Dave logs in on a new device that never saw the key, and rehydrates.
  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dave' }, password: dave.password, device_id: 'DAVENEW' },
  });
  const fresh = await OlmMachine.initialize(new UserId(dave.userId), new DeviceId('DAVENEW'));
  const stored = (await call({ ...dave, accessToken: login.body.access_token }, 'GET', '/dehydrated_device')).body;
  const rehydrated = await fresh.dehydratedDevices().rehydrate(dehydrationKey, new DeviceId(stored.device_id), JSON.stringify(stored.device_data));
  let roomKeys = 0;
  let nextBatch: string | undefined;
  for (;;) {
    const page = await call(dave, 'POST', `/dehydrated_device/${encodeURIComponent(stored.device_id)}/events`, nextBatch ? { next_batch: nextBatch } : {});
    assert.equal(page.status, 200, JSON.stringify(page.body));
    if (page.body.events.length === 0) break;
    roomKeys += (await rehydrated.receiveEvents(JSON.stringify(page.body.events))).length;
    nextBatch = page.body.next_batch;
  }
  assert.ok(roomKeys >= 1, 'the room key sent to the dehydrated device came through');
  const event = { type: 'm.room.encrypted', content: JSON.parse(encrypted), sender: erin.userId, event_id: '$offline', origin_server_ts: Date.now(), room_id: room.toString() };
  const decrypted = await fresh.decryptRoomEvent(JSON.stringify(event), room, new DecryptionSettings(TrustRequirement.Untrusted));
  assert.equal(JSON.parse(decrypted.event).content.body, 'while you were away');
  fresh.close();
});
