import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { crossSigningKeys, signed, testDevice, type CrossSigningSet, type TestDevice } from '../support/e2ee-keys.ts';

const SIGNING = '/_matrix/client/v3/keys/device_signing/upload';
const SIGNATURES = '/_matrix/client/v3/keys/signatures/upload';
const QUERY = '/_matrix/client/v3/keys/query';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let aliceDevice: TestDevice;
let aliceKeys: CrossSigningSet;
let bobKeys: CrossSigningSet;

const post = (user: TestUser, path: string, body: unknown) => request(server.url, 'POST', path, { token: user.accessToken, body });
const password = (user: TestUser) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password });

before(async () => {
  server = await startTestServer();
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((name) => registerUser(server.url, name)));
  aliceDevice = testDevice(alice.userId, alice.deviceId);
  assert.equal((await post(alice, '/_matrix/client/v3/keys/upload', { device_keys: aliceDevice.deviceKeys })).status, 200);
  aliceKeys = crossSigningKeys(alice.userId);
  bobKeys = crossSigningKeys(bob.userId);
  assert.equal((await post(bob, SIGNING, bobKeys.body)).status, 200);
});
after(() => server.stop());

test('the first upload needs no UIA, a retry of the same keys neither, a new master key does', async () => {
  const first = await post(alice, SIGNING, aliceKeys.body);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  await assertMatchesSpec({ method: 'POST', path: SIGNING, status: 200, body: first.body });
  assert.equal((await post(alice, SIGNING, aliceKeys.body)).status, 200, 'retrying the same keys is idempotent');

  const replacement = crossSigningKeys(alice.userId);
  const challenge = await post(alice, SIGNING, replacement.body);
  assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
  assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
  const wrong = await post(alice, SIGNING, { ...replacement.body, auth: { ...password(alice), password: 'nope', session: challenge.body.session } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
  const mine = await post(alice, QUERY, { device_keys: { [alice.userId]: [] } });
  assert.deepEqual(mine.body.master_keys[alice.userId].keys, aliceKeys.body.master_key.keys, 'unchanged without UIA');

  const done = await post(alice, SIGNING, { ...replacement.body, auth: { ...password(alice), session: challenge.body.session } });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  const after = await post(alice, QUERY, { device_keys: { [alice.userId]: [] } });
  await assertMatchesSpec({ method: 'POST', path: QUERY, status: 200, body: after.body });
  assert.deepEqual(after.body.master_keys[alice.userId].keys, replacement.body.master_key.keys);
  assert.deepEqual(after.body.self_signing_keys[alice.userId], replacement.body.self_signing_key);
  assert.deepEqual(after.body.user_signing_keys[alice.userId], replacement.body.user_signing_key);
  aliceKeys = replacement;
});

test('inconsistent cross-signing keys are refused', async () => {
  const dave = await registerUser(server.url, 'dave');
  const keys = crossSigningKeys(dave.userId);
  const stranger = crossSigningKeys(dave.userId);
  const twoKeys = { ...keys.body.master_key, keys: { ...keys.body.master_key.keys, ...stranger.body.master_key.keys } };
  const cases: [string, unknown, number, string][] = [
    ['self-signing key signed by another master key', { master_key: keys.body.master_key, self_signing_key: stranger.body.self_signing_key }, 400, 'M_INVALID_SIGNATURE'],
    ['user-signing key without a signature', { master_key: keys.body.master_key, user_signing_key: { ...keys.body.user_signing_key, signatures: {} } }, 400, 'M_INVALID_SIGNATURE'],
    ['no master key at all', { self_signing_key: keys.body.self_signing_key }, 400, 'M_MISSING_PARAM'],
    ['a key of another user', { master_key: { ...keys.body.master_key, user_id: alice.userId } }, 400, 'M_INVALID_PARAM'],
    ['wrong usage', { master_key: { ...keys.body.master_key, usage: ['self_signing'] } }, 400, 'M_INVALID_PARAM'],
    ['two public keys', { master_key: twoKeys }, 400, 'M_BAD_JSON'],
    ['key name not matching the key', { master_key: { ...keys.body.master_key, keys: { 'ed25519:abc': keys.master.publicKey } } }, 400, 'M_INVALID_PARAM'],
    ['nothing to upload', {}, 400, 'M_INVALID_PARAM'],
  ];
  for (const [what, body, status, errcode] of cases) {
    const result = await post(dave, SIGNING, body);
    await assertRefusal(result, { status, errcode, method: 'POST', path: SIGNING, checkSpec: status !== 400 || errcode !== 'M_BAD_JSON' });
    const rows = await server.app.db.selectFrom('cross_signing_keys').selectAll().where('user_id', '=', dave.userId).execute();
    assert.deepEqual(rows, [], what);
  }
});

test('a cross-signing key may not share its ID with a device', async () => {
  const keys = crossSigningKeys('@erin:localhost');
  const erin = await registerUser(server.url, 'erin');
  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'erin' }, password: erin.password, device_id: keys.master.publicKey },
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const result = await post(erin, SIGNING, keys.body);
  await assertRefusal(result, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: SIGNING });
});

test('signatures: own device by self-signing key, own master key by a device, another user by user-signing key', async () => {
  const aliceMaster = aliceKeys.body.master_key;
  const deviceBySsk = signed(aliceDevice.deviceKeys, alice.userId, `ed25519:${aliceKeys.selfSigning.publicKey}`, aliceKeys.selfSigning);
  const masterByDevice = aliceDevice.sign(aliceMaster);
  const bobMasterByUsk = signed(bobKeys.body.master_key, alice.userId, `ed25519:${aliceKeys.userSigning.publicKey}`, aliceKeys.userSigning);
  const result = await post(alice, SIGNATURES, {
    [alice.userId]: { [alice.deviceId]: deviceBySsk, [aliceKeys.master.publicKey]: masterByDevice },
    [bob.userId]: { [bobKeys.master.publicKey]: bobMasterByUsk },
  });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: SIGNATURES, status: 200, body: result.body });
  assert.deepEqual(result.body.failures, {});

  const sskId = `ed25519:${aliceKeys.selfSigning.publicKey}`;
  const uskId = `ed25519:${aliceKeys.userSigning.publicKey}`;
  const seenBy = async (viewer: TestUser) => (await post(viewer, QUERY, { device_keys: { [alice.userId]: [], [bob.userId]: [] } })).body;
  const byCarol = await seenBy(carol);
  assert.equal(byCarol.device_keys[alice.userId][alice.deviceId].signatures[alice.userId][sskId], deviceBySsk.signatures[alice.userId][sskId]);
  assert.ok(byCarol.master_keys[alice.userId].signatures[alice.userId][`ed25519:${alice.deviceId}`], 'device signature of the master key is public');
  assert.equal(byCarol.master_keys[bob.userId].signatures[alice.userId], undefined, "Alice's user-signing signature is hidden from Carol");
  assert.equal(byCarol.user_signing_keys[alice.userId], undefined, 'user-signing keys are only shown to their owner');
  const byBob = await seenBy(bob);
  assert.equal(byBob.master_keys[bob.userId].signatures[alice.userId], undefined, "…and from Bob");
  const byAlice = await seenBy(alice);
  assert.equal(byAlice.master_keys[bob.userId].signatures[alice.userId][uskId], bobMasterByUsk.signatures[alice.userId][uskId]);
});

test('bad signatures come back as per-key failures', async () => {
  const forgedDevice = signed(aliceDevice.deviceKeys, alice.userId, `ed25519:${aliceKeys.selfSigning.publicKey}`, aliceKeys.userSigning);
  const tampered = { ...signed(aliceDevice.deviceKeys, alice.userId, `ed25519:${aliceKeys.selfSigning.publicKey}`, aliceKeys.selfSigning), algorithms: ['x'] };
  const result = await post(alice, SIGNATURES, {
    [alice.userId]: { [alice.deviceId]: forgedDevice, NOSUCHDEVICE: { user_id: alice.userId } },
    [carol.userId]: { anything: { user_id: carol.userId } },
    '@frank:remote.example': { key: {} },
  });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: SIGNATURES, status: 200, body: result.body });
  assert.equal(result.body.failures[alice.userId][alice.deviceId].errcode, 'M_INVALID_SIGNATURE');
  assert.equal(result.body.failures[alice.userId].NOSUCHDEVICE.errcode, 'M_NOT_FOUND');
  assert.equal(result.body.failures[carol.userId].anything.errcode, 'M_NOT_FOUND');
  assert.ok(result.body.failures['@frank:remote.example'].key.errcode);
  const second = await post(alice, SIGNATURES, { [alice.userId]: { [alice.deviceId]: tampered } });
  assert.equal(second.body.failures[alice.userId][alice.deviceId].errcode, 'M_INVALID_PARAM', 'a signed object that differs from the stored key');
});

test('replacing cross-signing keys drops the signatures made by and on the old keys', async () => {
  const uskId = `ed25519:${aliceKeys.userSigning.publicKey}`;
  const before = await post(alice, QUERY, { device_keys: { [bob.userId]: [] } });
  assert.ok(before.body.master_keys[bob.userId].signatures[alice.userId]?.[uskId], 'precondition: alice signed bob');

  const replacement = crossSigningKeys(alice.userId);
  const challenge = await post(alice, SIGNING, replacement.body);
  const done = await post(alice, SIGNING, { ...replacement.body, auth: { ...password(alice), session: challenge.body.session } });
  assert.equal(done.status, 200, JSON.stringify(done.body));

  const after = await post(alice, QUERY, { device_keys: { [alice.userId]: [], [bob.userId]: [] } });
  assert.equal(after.body.master_keys[bob.userId].signatures[alice.userId], undefined, 'the old user-signing signature is gone');
  const deviceSignatures = after.body.device_keys[alice.userId][alice.deviceId].signatures[alice.userId];
  assert.deepEqual(Object.keys(deviceSignatures), [`ed25519:${alice.deviceId}`], 'only the self-signature is left on the device');
  assert.equal(after.body.master_keys[alice.userId].signatures?.[alice.userId]?.[`ed25519:${alice.deviceId}`], undefined, 'the device signed the old master key, not this one');
  aliceKeys = replacement;
});

test('a new master key alone drops the self- and user-signing keys it did not sign', async () => {
  const henry = await registerUser(server.url, 'henry');
  assert.equal((await post(henry, SIGNING, crossSigningKeys(henry.userId).body)).status, 200);
  const { master_key } = crossSigningKeys(henry.userId).body;
  const challenge = await post(henry, SIGNING, { master_key });
  const done = await post(henry, SIGNING, { master_key, auth: { ...password(henry), session: challenge.body.session } });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  const mine = await post(henry, QUERY, { device_keys: { [henry.userId]: [] } });
  assert.deepEqual(mine.body.master_keys[henry.userId].keys, master_key.keys);
  assert.equal(mine.body.self_signing_keys[henry.userId], undefined);
  assert.equal(mine.body.user_signing_keys[henry.userId], undefined);
});
