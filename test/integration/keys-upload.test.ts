import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initAsync, DeviceId, OlmMachine, RequestType, UserId } from '@matrix-org/matrix-sdk-crypto-wasm';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { testDevice, type TestDevice } from '../support/e2ee-keys.ts';

const UPLOAD = '/_matrix/client/v3/keys/upload';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

async function upload(user: TestUser, body: unknown) {
  return request(server.url, 'POST', UPLOAD, { token: user.accessToken, body });
}

async function deviceKeysRows(user: TestUser) {
  return server.app.db.selectFrom('device_keys').selectAll().where('user_id', '=', user.userId).execute();
}

test('device keys, one-time keys and a fallback key are stored and counted', async () => {
  const device = testDevice(alice.userId, alice.deviceId);
  const first = device.oneTimeKeys(5);
  const result = await upload(alice, { device_keys: device.deviceKeys, one_time_keys: first, fallback_keys: device.fallbackKey() });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: UPLOAD, status: 200, body: result.body });
  assert.deepEqual(result.body.one_time_key_counts, { signed_curve25519: 5 });

  // Re-uploading the same keys is idempotent; more one-time keys add up.
  const again = await upload(alice, { device_keys: device.deviceKeys, one_time_keys: { ...first, ...device.oneTimeKeys(3, 100) } });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(again.body.one_time_key_counts, { signed_curve25519: 8 });

  const empty = await upload(alice, {});
  assert.deepEqual(empty.body, { one_time_key_counts: { signed_curve25519: 8 } });
});

test('refusals leave nothing behind', async () => {
  const own = testDevice(bob.userId, bob.deviceId);
  const other = testDevice(alice.userId, bob.deviceId);
  const wrongDevice = testDevice(bob.userId, 'NOTMYDEVICE');
  const forged = { ...own.deviceKeys, signatures: testDevice(bob.userId, bob.deviceId).deviceKeys.signatures };
  const unsignedKey = { 'signed_curve25519:AAAAAA': { key: 'x'.repeat(43), signatures: {} } };
  const cases: [string, unknown, number, string][] = [
    ['device keys of another user', { device_keys: other.deviceKeys }, 400, 'M_INVALID_PARAM'],
    ['device keys of another device', { device_keys: wrongDevice.deviceKeys }, 400, 'M_INVALID_PARAM'],
    ['device keys signed by someone else', { device_keys: forged }, 400, 'M_INVALID_SIGNATURE'],
    ['device keys without signatures', { device_keys: { ...own.deviceKeys, signatures: {} } }, 400, 'M_INVALID_SIGNATURE'],
    ['device keys without algorithms', { device_keys: { ...own.deviceKeys, algorithms: undefined } }, 400, 'M_MISSING_PARAM'],
    ['one-time key with a bad signature', { device_keys: own.deviceKeys, one_time_keys: unsignedKey }, 400, 'M_INVALID_SIGNATURE'],
    ['signed key as a bare string', { device_keys: own.deviceKeys, one_time_keys: { 'signed_curve25519:A': 'abc' } }, 400, 'M_BAD_JSON'],
    ['key name without algorithm', { device_keys: own.deviceKeys, one_time_keys: { nocolon: own.sign({ key: 'k' }) } }, 400, 'M_BAD_JSON'],
    ['one-time key before any device keys', { one_time_keys: own.oneTimeKeys(1) }, 400, 'M_INVALID_SIGNATURE'],
    ['two fallback keys of one algorithm', { device_keys: own.deviceKeys, fallback_keys: { ...own.fallbackKey('a'), ...own.fallbackKey('b') } }, 400, 'M_INVALID_PARAM'],
  ];
  for (const [what, body, status, errcode] of cases) {
    const result = await upload(bob, body);
    await assertRefusal(result, { status, errcode, method: 'POST', path: UPLOAD, checkSpec: false });
    assert.deepEqual(await deviceKeysRows(bob), [], what);
  }
  const oneTime = await server.app.db.selectFrom('one_time_keys').selectAll().where('user_id', '=', bob.userId).execute();
  assert.deepEqual(oneTime, []);
});

test('a device cannot replace its identity keys, nor reuse a one-time key ID with other content', async () => {
  const carol = await registerUser(server.url, 'carol');
  const device = testDevice(carol.userId, carol.deviceId);
  assert.equal((await upload(carol, { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(1) })).status, 200);

  const replacement = testDevice(carol.userId, carol.deviceId);
  const replaced = await upload(carol, { device_keys: replacement.deviceKeys });
  await assertRefusal(replaced, { status: 400, errcode: 'M_INVALID_PARAM', method: 'POST', path: UPLOAD, checkSpec: false, messageIncludes: 'cannot be replaced' });
  const [row] = await deviceKeysRows(carol);
  assert.deepEqual(row.key_json.keys, device.deviceKeys.keys);

  const reused = await upload(carol, { one_time_keys: device.oneTimeKeys(1) }); // same ID, fresh key material
  await assertRefusal(reused, { status: 400, errcode: 'M_INVALID_PARAM', method: 'POST', path: UPLOAD, checkSpec: false, messageIncludes: 'already exists' });
});

test('oversized uploads are refused with M_TOO_LARGE', async () => {
  const dave = await registerUser(server.url, 'dave');
  const device = testDevice(dave.userId, dave.deviceId);
  const tooMany = await upload(dave, { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(1001) });
  await assertRefusal(tooMany, { status: 413, errcode: 'M_TOO_LARGE', method: 'POST', path: UPLOAD, checkSpec: false });
  const huge = await upload(dave, { device_keys: device.deviceKeys, padding: 'x'.repeat(3 * 1024 * 1024) });
  await assertRefusal(huge, { status: 413, errcode: 'M_TOO_LARGE', method: 'POST', path: UPLOAD, checkSpec: false });
  const longAlgorithm = await upload(dave, { device_keys: { ...device.deviceKeys, algorithms: ['a'.repeat(300)] } });
  await assertRefusal(longAlgorithm, { status: 400, errcode: 'M_BAD_JSON', method: 'POST', path: UPLOAD, checkSpec: false });
});

test('the Rust crypto (matrix-sdk-crypto-wasm) OlmMachine uploads its real keys', async () => {
  await initAsync();
  const erin = await registerUser(server.url, 'erin');
  const machine = await OlmMachine.initialize(new UserId(erin.userId), new DeviceId(erin.deviceId));
  try {
    const requests = await machine.outgoingRequests();
    const keysUpload = requests.find((outgoing) => outgoing.type === RequestType.KeysUpload);
    assert.ok(keysUpload, 'the machine wants to upload keys');
    const body = JSON.parse((keysUpload as { body: string }).body);
    const result = await upload(erin, body);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'POST', path: UPLOAD, status: 200, body: result.body });
    assert.equal(result.body.one_time_key_counts.signed_curve25519, Object.keys(body.one_time_keys).length);
    await machine.markRequestAsSent((keysUpload as { id: string }).id, RequestType.KeysUpload, JSON.stringify(result.body));

    const query = await request(server.url, 'POST', '/_matrix/client/v3/keys/query', { token: alice.accessToken, body: { device_keys: { [erin.userId]: [] } } });
    assert.deepEqual(query.body.device_keys[erin.userId][erin.deviceId].keys, body.device_keys.keys);
  } finally {
    machine.close();
  }
});

test('racing uploads of one device: one set of identity keys wins, the other is refused', async () => {
  const frank = await registerUser(server.url, 'frank');
  const candidates = Array.from({ length: 5 }, () => testDevice(frank.userId, frank.deviceId));
  const results = await Promise.all(candidates.map((device) => upload(frank, { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(3) })));
  assert.equal(results.filter((result) => result.status === 200).length, 1, JSON.stringify(results.map((result) => result.body)));
  for (const result of results.filter((entry) => entry.status !== 200)) assert.equal(result.body.errcode, 'M_INVALID_PARAM');
  const winner = candidates[results.findIndex((result) => result.status === 200)];
  const [row] = await deviceKeysRows(frank);
  assert.deepEqual(row.key_json.keys, winner.deviceKeys.keys);
  const counts = await upload(frank, {});
  assert.deepEqual(counts.body.one_time_key_counts, { signed_curve25519: 3 });
});

test('a device with no one-time keys reports a zero count', async () => {
  const gina = await registerUser(server.url, 'gina');
  const result = await upload(gina, { device_keys: testDevice(gina.userId, gina.deviceId).deviceKeys });
  assert.deepEqual(result.body, { one_time_key_counts: { signed_curve25519: 0 } });
});
