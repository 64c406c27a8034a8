import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { testDevice } from '../support/e2ee-keys.ts';

const CLAIM = '/_matrix/client/v3/keys/claim';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const claim = (user: TestUser, body: unknown) => request(server.url, 'POST', CLAIM, { token: user.accessToken, body });

test('100 parallel claims of 50 one-time keys hand out each key once, then the fallback key', async () => {
  const device = testDevice(bob.userId, bob.deviceId);
  const oneTimeKeys = device.oneTimeKeys(50);
  const fallback = device.fallbackKey('FALLBACK');
  const uploaded = await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', {
    token: bob.accessToken,
    body: { device_keys: device.deviceKeys, one_time_keys: oneTimeKeys, fallback_keys: fallback },
  });
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));

  const results = await Promise.all(
    Array.from({ length: 100 }, () => claim(alice, { one_time_keys: { [bob.userId]: { [bob.deviceId]: 'signed_curve25519' } } })),
  );
  const handedOut: string[] = [];
  for (const result of results) {
    assert.equal(result.status, 200, JSON.stringify(result.body));
    const keys = result.body.one_time_keys[bob.userId][bob.deviceId];
    assert.equal(Object.keys(keys).length, 1, 'one key per device per claim');
    handedOut.push(Object.keys(keys)[0]);
  }
  await assertMatchesSpec({ method: 'POST', path: CLAIM, status: 200, body: results[0].body });
  const oneTime = handedOut.filter((name) => name !== 'signed_curve25519:FALLBACK');
  assert.equal(oneTime.length, 50, 'all 50 one-time keys were handed out');
  assert.equal(new Set(oneTime).size, 50, 'never the same one-time key twice');
  assert.deepEqual(new Set(oneTime), new Set(Object.keys(oneTimeKeys)));
  assert.equal(handedOut.length - oneTime.length, 50, 'the other 50 claims got the fallback key');
  const fallbackResult = results.find((result) => 'signed_curve25519:FALLBACK' in result.body.one_time_keys[bob.userId][bob.deviceId])!;
  assert.deepEqual(fallbackResult.body.one_time_keys[bob.userId][bob.deviceId]['signed_curve25519:FALLBACK'], fallback['signed_curve25519:FALLBACK']);

  const row = await server.app.db.selectFrom('fallback_keys').select('used').where('user_id', '=', bob.userId).executeTakeFirstOrThrow();
  assert.equal(row.used, true, 'the fallback key is marked used');
  const left = await server.app.db.selectFrom('one_time_keys').selectAll().where('user_id', '=', bob.userId).execute();
  assert.deepEqual(left, []);

  // A new fallback key replaces the used one and starts unused.
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: bob.accessToken, body: { fallback_keys: device.fallbackKey('FALLBACK2') } });
  const replaced = await server.app.db.selectFrom('fallback_keys').select(['key_id', 'used']).where('user_id', '=', bob.userId).executeTakeFirstOrThrow();
  assert.deepEqual(replaced, { key_id: 'FALLBACK2', used: false });
});

test('one-time keys are handed out in upload order', async () => {
  const carol = await registerUser(server.url, 'carol');
  const device = testDevice(carol.userId, carol.deviceId);
  const upload = (body: unknown) => request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: carol.accessToken, body });
  await upload({ device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(1, 900) });
  await upload({ one_time_keys: device.oneTimeKeys(1, 1) });
  const first = await claim(alice, { one_time_keys: { [carol.userId]: { [carol.deviceId]: 'signed_curve25519' } } });
  assert.deepEqual(Object.keys(first.body.one_time_keys[carol.userId][carol.deviceId]), ['signed_curve25519:AAAA00p0']);
});

test('unknown users and devices are left out; remote servers are reported in failures', async () => {
  const result = await claim(alice, {
    one_time_keys: {
      [bob.userId]: { NOSUCHDEVICE: 'signed_curve25519' },
      '@nobody:localhost': { DEVICE: 'signed_curve25519' },
      '@remote:elsewhere.example': { DEVICE: 'signed_curve25519' },
    },
  });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: CLAIM, status: 200, body: result.body });
  assert.deepEqual(result.body.one_time_keys, {});
  assert.ok(result.body.failures['elsewhere.example'], JSON.stringify(result.body));
});

test('bad claims are refused', async () => {
  const cases: [unknown, number, string][] = [
    [{}, 400, 'M_MISSING_PARAM'],
    [{ one_time_keys: { 'not-a-user-id': { D: 'signed_curve25519' } } }, 400, 'M_BAD_JSON'],
    [{ one_time_keys: { [bob.userId]: { D: 42 } } }, 400, 'M_BAD_JSON'],
    [{ one_time_keys: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`@u${i}:localhost`, { D: 'signed_curve25519' }])) }, 413, 'M_TOO_LARGE'],
  ];
  for (const [body, status, errcode] of cases) {
    await assertRefusal(await claim(alice, body), { status, errcode, method: 'POST', path: CLAIM, checkSpec: false });
  }
});

test('one claim naming several devices: a one-time key where there is one, else the fallback key, else nothing', async () => {
  const [gwen, hugo, ivan] = await Promise.all(['gwen', 'hugo', 'ivan'].map((name) => registerUser(server.url, name)));
  const withKeys = testDevice(gwen.userId, gwen.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: gwen.accessToken, body: { device_keys: withKeys.deviceKeys, one_time_keys: withKeys.oneTimeKeys(2) } });
  const fallbackOnly = testDevice(hugo.userId, hugo.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: hugo.accessToken, body: { device_keys: fallbackOnly.deviceKeys, fallback_keys: fallbackOnly.fallbackKey('FB') } });
  const result = await claim(alice, {
    one_time_keys: {
      [gwen.userId]: { [gwen.deviceId]: 'signed_curve25519' },
      [hugo.userId]: { [hugo.deviceId]: 'signed_curve25519' },
      [ivan.userId]: { [ivan.deviceId]: 'signed_curve25519' },
    },
  });
  assert.equal(result.status, 200);
  assert.equal(Object.keys(result.body.one_time_keys[gwen.userId][gwen.deviceId]).length, 1);
  assert.deepEqual(Object.keys(result.body.one_time_keys[hugo.userId][hugo.deviceId]), ['signed_curve25519:FB']);
  assert.equal(result.body.one_time_keys[ivan.userId], undefined, 'ivan has no keys at all');
  const left = await server.app.db.selectFrom('one_time_keys').select('key_id').where('user_id', '=', gwen.userId).execute();
  assert.equal(left.length, 1, 'exactly one of the two keys of gwen was taken');
});
