// Complement's account, login, registration, devices, profile and presence
// scenarios (tests/csapi/apidoc_*_test.go, account_*_test.go); each test is
// named after the Complement test function and each subtest after its t.Run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { clientOf, expectStatus, loginAs, registerThroughUia, seg, withPassword } from '../support/complement.ts';
import { createRoom, syncOnce } from '../support/rooms.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

const pusher = (pushkey: string) => ({
  kind: 'http', app_id: 'complement', app_display_name: 'c', device_display_name: 'd', pushkey, lang: 'en',
  data: { url: 'https://push.example.org/_matrix/push/v1/notify' },
});

test('TestChangePasswordPushers', async (t) => {
  await t.test('Pushers created with a different access token are deleted on password change', async () => {
    const user = await registerUser(server.url, 'pushers1', { password: 'old-pw' });
    const other = await loginAs(server, 'pushers1', 'old-pw');
    expectStatus(await clientOf(server, other).post('v3/pushers/set', pusher('other-key')), 200);
    expectStatus(await withPassword(server, user, 'POST', 'v3/account/password', { new_password: 'new-pw' }, 'old-pw'), 200);
    const listed = await clientOf(server, user).get('v3/pushers');
    assert.deepEqual(listed.body.pushers, []);
  });
  await t.test('Pushers created with the same access token are not deleted on password change', async () => {
    const user = await registerUser(server.url, 'pushers2', { password: 'old-pw' });
    expectStatus(await clientOf(server, user).post('v3/pushers/set', pusher('own-key')), 200);
    expectStatus(await withPassword(server, user, 'POST', 'v3/account/password', { new_password: 'new-pw' }, 'old-pw'), 200);
    const listed = await clientOf(server, user).get('v3/pushers');
    assert.deepEqual(listed.body.pushers.map((p: any) => p.pushkey), ['own-key']);
  });
});

test('TestLogin', async (t) => {
  const user = await registerUser(server.url, 'login_user', { password: 'superuser' });
  const anon = clientOf(server);
  await t.test('GET /login yields a set of flows', async () => {
    const result = await anon.get('v3/login');
    expectStatus(result, 200);
    assert.ok(result.body.flows.some((flow: any) => flow.type === 'm.login.password'));
  });
  await t.test('POST /login can login as user', async () => {
    const result = await anon.post('v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: 'superuser' });
    expectStatus(result, 200);
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/login', status: 200, body: result.body });
    assert.equal(result.body.user_id, user.userId);
  });
  await t.test('POST /login returns the same device_id as that in the request', async () => {
    const result = await anon.post('v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: 'superuser', device_id: 'SAMEDEVICE' });
    expectStatus(result, 200);
    assert.equal(result.body.device_id, 'SAMEDEVICE');
  });
  await t.test('POST /login can log in as a user with just the local part of the id', async () => {
    expectStatus(await anon.post('v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'login_user' }, password: 'superuser' }), 200);
  });
  await t.test('POST /login as non-existing user is rejected', async () => {
    expectStatus(await anon.post('v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'i-dont-exist' }, password: 'superuser' }), 403, 'M_FORBIDDEN');
  });
  await t.test('POST /login wrong password is rejected', async () => {
    expectStatus(await anon.post('v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'login_user' }, password: 'wrong' }), 403, 'M_FORBIDDEN');
  });
  await t.test('Login with uppercase username works and GET /whoami afterwards also', async () => {
    const result = await anon.post('v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@LOGIN_USER:localhost' }, password: 'superuser' });
    expectStatus(result, 200);
    assert.equal(result.body.user_id, user.userId);
    const whoami = await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token: result.body.access_token });
    expectStatus(whoami, 200);
    assert.equal(whoami.body.user_id, user.userId);
  });
});

test('TestLogout', async (t) => {
  const user = await registerUser(server.url, 'logout_user', { password: 'pw' });
  await t.test('Can logout current device', async () => {
    const session = await loginAs(server, 'logout_user', 'pw');
    expectStatus(await clientOf(server, session).post('v3/logout'), 200);
    expectStatus(await clientOf(server, session).get('v3/account/whoami'), 401, 'M_UNKNOWN_TOKEN');
    expectStatus(await clientOf(server, user).get('v3/account/whoami'), 200);
  });
  await t.test('Can logout all devices', async () => {
    const first = await loginAs(server, 'logout_user', 'pw');
    const second = await loginAs(server, 'logout_user', 'pw');
    expectStatus(await clientOf(server, first).post('v3/logout/all'), 200);
    for (const session of [first, second, user]) expectStatus(await clientOf(server, session).get('v3/account/whoami'), 401, 'M_UNKNOWN_TOKEN');
  });
  await t.test('Request to logout with invalid an access token is rejected', async () => {
    expectStatus(await request(server.url, 'POST', '/_matrix/client/v3/logout', { token: 'not-a-token', body: {} }), 401, 'M_UNKNOWN_TOKEN');
  });
  await t.test('Request to logout without an access token is rejected', async () => {
    expectStatus(await request(server.url, 'POST', '/_matrix/client/v3/logout', { body: {} }), 401, 'M_MISSING_TOKEN');
  });
});

test('TestRegistration', async (t) => {
  const anon = clientOf(server);
  await t.test('POST {} returns a set of flows', async () => {
    const result = await anon.post('v3/register', {});
    expectStatus(result, 401);
    assert.ok(Array.isArray(result.body.flows) && result.body.flows.length > 0);
  });
  await t.test('POST /register can create a user', async () => {
    const result = await registerThroughUia(server, { username: 'reg_create', password: 'sUp3rs3kr1t' });
    expectStatus(result, 200);
    assert.equal(result.body.user_id, '@reg_create:localhost');
  });
  await t.test('POST /register downcases capitals in usernames', async () => {
    const result = await registerThroughUia(server, { username: 'user-UPPER', password: 'sUp3rs3kr1t' });
    expectStatus(result, 200);
    assert.equal(result.body.user_id, '@user-upper:localhost');
  });
  await t.test('POST /register returns the same device_id as that in the request', async () => {
    const result = await registerThroughUia(server, { username: 'reg_device', password: 'sUp3rs3kr1t', device_id: 'my_device_id' });
    expectStatus(result, 200);
    assert.equal(result.body.device_id, 'my_device_id');
  });
  await t.test('POST /register rejects usernames with special characters', async () => {
    for (const char of ['!', '"', ':', '?', '\\', '@', '[', ']', '{', '|', '}', '£', 'é', '\n', "'"]) {
      const result = await registerThroughUia(server, { username: `user${char}name`, password: 'sUp3rs3kr1t' });
      expectStatus(result, 400, 'M_INVALID_USERNAME');
    }
  });
  await t.test('POST /register rejects if user already exists', async () => {
    await registerUser(server.url, 'reg_existing');
    expectStatus(await registerThroughUia(server, { username: 'reg_existing', password: 'sUp3rs3kr1t' }), 400, 'M_USER_IN_USE');
  });
  await t.test('POST /register allows registration of usernames with each allowed character', async () => {
    for (const char of 'q3._=-/') {
      const result = await registerThroughUia(server, { username: `chrtestuser${char}`, password: 'sUp3rs3kr1t' });
      expectStatus(result, 200);
      assert.equal(result.body.user_id, `@chrtestuser${char}:localhost`);
    }
  });
  await t.test('Registration accepts non-ascii passwords', async () => {
    const result = await registerThroughUia(server, { username: 'test_user', password: 'übers3kr1t', device_id: 'xyzzy', initial_device_display_name: 'display_name' });
    expectStatus(result, 200);
    await loginAs(server, 'test_user', 'übers3kr1t');
  });
  await t.test('GET /register/available returns available for unregistered user name', async () => {
    const result = await anon.get('v3/register/available?username=notregistered');
    expectStatus(result, 200);
    assert.equal(result.body.available, true);
  });
  await t.test('GET /register/available returns M_USER_IN_USE for registered user name', async () => {
    expectStatus(await anon.get('v3/register/available?username=reg_existing'), 400, 'M_USER_IN_USE');
  });
  await t.test('GET /register/available returns M_INVALID_USERNAME for invalid user name', async () => {
    expectStatus(await anon.get(`v3/register/available?username=${seg('username,should_not_be_valid')}`), 400, 'M_INVALID_USERNAME');
  });
});

test('TestDeviceManagement', async (t) => {
  const user = await registerUser(server.url, 'devices_user', { password: 'pw' });
  const session = await loginAs(server, 'devices_user', 'pw', { device_id: 'DEVICE_A', initial_device_display_name: 'first' });
  const client = clientOf(server, user);
  await t.test('GET /device/{deviceId}', async () => {
    const result = await client.get('v3/devices/DEVICE_A');
    expectStatus(result, 200);
    assert.equal(result.body.device_id, 'DEVICE_A');
    assert.equal(result.body.display_name, 'first');
  });
  await t.test('GET /device/{deviceId} gives a 404 for unknown devices', async () => {
    expectStatus(await client.get('v3/devices/UNKNOWN'), 404, 'M_NOT_FOUND');
  });
  await t.test('GET /devices', async () => {
    const result = await client.get('v3/devices');
    expectStatus(result, 200);
    assert.deepEqual(result.body.devices.map((d: any) => d.device_id).sort(), [user.deviceId, 'DEVICE_A'].sort());
  });
  await t.test('PUT /device/{deviceId} updates device fields', async () => {
    expectStatus(await client.put('v3/devices/DEVICE_A', { display_name: 'renamed' }), 200);
    assert.equal((await client.get('v3/devices/DEVICE_A')).body.display_name, 'renamed');
  });
  await t.test('PUT /device/{deviceId} gives a 404 for unknown devices', async () => {
    expectStatus(await client.put('v3/devices/UNKNOWN', { display_name: 'x' }), 404, 'M_NOT_FOUND');
  });
  await t.test('DELETE /device/{deviceId}', async () => {
    expectStatus(await withPassword(server, user, 'DELETE', 'v3/devices/DEVICE_A', {}, 'pw'), 200);
    expectStatus(await client.get('v3/devices/DEVICE_A'), 404, 'M_NOT_FOUND');
    expectStatus(await clientOf(server, session).get('v3/account/whoami'), 401, 'M_UNKNOWN_TOKEN');
  });
  await t.test('DELETE /device/{deviceId} requires UI auth user to match device owner', async () => {
    const bob = await registerUser(server.url, 'devices_bob', { password: 'bob-pw' });
    await loginAs(server, 'devices_user', 'pw', { device_id: 'DEVICE_B' });
    const challenge = await client.delete('v3/devices/DEVICE_B', {});
    expectStatus(challenge, 401);
    const refused = await client.delete('v3/devices/DEVICE_B', { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: bob.userId }, password: 'bob-pw', session: challenge.body.session } });
    // Another user's valid credentials: a plain 403 (as Synapse), not a new challenge; nothing is deleted.
    expectStatus(refused, 403, 'M_FORBIDDEN');
    assert.equal(refused.body.flows, undefined, 'not a UIA challenge');
    expectStatus(await client.get('v3/devices/DEVICE_B'), 200);
    // A wrong password for the other user is still the ordinary UIA failure (401), and nothing is deleted either.
    const wrong = await client.delete('v3/devices/DEVICE_B', { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: bob.userId }, password: 'nope', session: challenge.body.session } });
    expectStatus(wrong, 401, 'M_FORBIDDEN');
    // The session is still usable by the owner.
    expectStatus(await client.delete('v3/devices/DEVICE_B', { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: 'pw', session: challenge.body.session } }), 200);
    expectStatus(await client.get('v3/devices/DEVICE_B'), 404, 'M_NOT_FOUND');
  });
});

test('TestProfileDisplayName and TestProfileAvatarURL', async (t) => {
  const user = await registerUser(server.url, 'profile_user');
  const client = clientOf(server, user);
  await t.test('PUT /profile/:user_id/displayname sets my name', async () => {
    expectStatus(await client.put(`v3/profile/${seg(user.userId)}/displayname`, { displayname: 'my_new_display_name' }), 200);
  });
  await t.test('GET /profile/:user_id/displayname publicly accessible', async () => {
    const result = await clientOf(server).get(`v3/profile/${seg(user.userId)}/displayname`);
    expectStatus(result, 200);
    assert.equal(result.body.displayname, 'my_new_display_name');
  });
  await t.test('PUT /profile/:user_id/avatar_url sets my avatar', async () => {
    expectStatus(await client.put(`v3/profile/${seg(user.userId)}/avatar_url`, { avatar_url: 'mxc://localhost/abcdef' }), 200);
  });
  await t.test('GET /profile/:user_id/avatar_url publicly accessible', async () => {
    const result = await clientOf(server).get(`v3/profile/${seg(user.userId)}/avatar_url`);
    expectStatus(result, 200);
    assert.equal(result.body.avatar_url, 'mxc://localhost/abcdef');
  });
});

test('TestPresence', async (t) => {
  const alice = await registerUser(server.url, 'presence_alice');
  const bob = await registerUser(server.url, 'presence_bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  expectStatus(await clientOf(server, bob).post(`v3/join/${seg(roomId)}`), 200);
  const status = `v3/presence/${seg(alice.userId)}/status`;
  await t.test('GET /presence/:user_id/status fetches initial status', async () => {
    const result = await clientOf(server, alice).get(status);
    expectStatus(result, 200);
    assert.ok(['online', 'offline', 'unavailable'].includes(result.body.presence));
  });
  await t.test('PUT /presence/:user_id/status updates my presence', async () => {
    expectStatus(await clientOf(server, alice).put(status, { presence: 'online', status_msg: 'Testing' }), 200);
    const result = await clientOf(server, alice).get(status);
    assert.equal(result.body.presence, 'online');
    assert.equal(result.body.status_msg, 'Testing');
  });
  const presenceOf = (sync: any, userId: string) => (sync.presence?.events ?? []).filter((e: any) => e.sender === userId).at(-1)?.content;
  await t.test('Presence can be set from sync', async () => {
    await syncOnce(server, bob, { set_presence: 'unavailable', timeout: '0' });
    const result = await clientOf(server, bob).get(`v3/presence/${seg(bob.userId)}/status`);
    assert.equal(result.body.presence, 'unavailable');
  });
  await t.test('Presence changes are reported to local room members', async () => {
    const since = (await syncOnce(server, bob, { set_presence: 'offline', timeout: '0' })).next_batch;
    expectStatus(await clientOf(server, alice).put(status, { presence: 'online', status_msg: 'Update' }), 200);
    const sync = await syncOnce(server, bob, { since, timeout: '10000', set_presence: 'offline' });
    assert.equal(presenceOf(sync, alice.userId)?.status_msg, 'Update');
  });
  await t.test('Presence changes to UNAVAILABLE are reported to local room members', async () => {
    const since = (await syncOnce(server, bob, { set_presence: 'offline', timeout: '0' })).next_batch;
    expectStatus(await clientOf(server, alice).put(status, { presence: 'unavailable' }), 200);
    const sync = await syncOnce(server, bob, { since, timeout: '10000', set_presence: 'offline' });
    assert.equal(presenceOf(sync, alice.userId)?.presence, 'unavailable');
  });
});

test('TestVersionStructure and TestServerCapabilities', async (t) => {
  await t.test('Version responds 200 OK with valid structure', async () => {
    const result = await clientOf(server).get('versions');
    expectStatus(result, 200);
    assert.ok(result.body.versions.every((v: unknown) => typeof v === 'string' && /^[rv]\d+\.\d+/.test(v)));
    for (const value of Object.values(result.body.unstable_features ?? {})) assert.equal(typeof value, 'boolean');
  });
  await t.test('TestServerCapabilities: m.change_password and m.room_versions', async () => {
    const user = await registerUser(server.url, 'caps_user');
    const result = await clientOf(server, user).get('v3/capabilities');
    expectStatus(result, 200);
    assert.equal(typeof result.body.capabilities['m.room_versions'].default, 'string');
    assert.equal(typeof result.body.capabilities['m.room_versions'].available, 'object');
  });
});

test('TestAddAccountData', async (t) => {
  const user = await registerUser(server.url, 'account_data_user');
  const client = clientOf(server, user);
  await t.test('Can add global account data', async () => {
    expectStatus(await client.put(`v3/user/${seg(user.userId)}/account_data/test.key`, { value: 'first' }), 200);
    expectStatus(await client.put(`v3/user/${seg(user.userId)}/account_data/test.key`, { value: 'second' }), 200);
    assert.deepEqual((await client.get(`v3/user/${seg(user.userId)}/account_data/test.key`)).body, { value: 'second' });
  });
  await t.test('Can add room account data', async () => {
    const roomId = await createRoom(server, user);
    const path = `v3/user/${seg(user.userId)}/rooms/${seg(roomId)}/account_data/test.key`;
    expectStatus(await client.put(path, { value: 'first' }), 200);
    expectStatus(await client.put(path, { value: 'second' }), 200);
    assert.deepEqual((await client.get(path)).body, { value: 'second' });
  });
});

test('TestRequestEncodingFails / POST rejects invalid utf-8 in JSON', async () => {
  const user = await registerUser(server.url, 'encoding_user');
  const response = await fetch(new URL('/_matrix/client/v3/createRoom', server.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
    body: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x73, 0x74, 0x22, 0x3a, 0x22, 0x55, 0xff, 0x22, 0x7d]),
  });
  assert.equal(response.status, 400);
  assert.ok(['M_NOT_JSON', 'M_BAD_JSON'].includes(((await response.json()) as any).errcode));
});

test('TestKeysQueryWithDeviceIDAsObjectFails', async () => {
  const user = await registerUser(server.url, 'keys_object_user');
  const result = await clientOf(server, user).post('v3/keys/query', { device_keys: { [user.userId]: { device_id: true } } });
  expectStatus(result, 400, 'M_BAD_JSON');
});

test('TestRegistration (shared secret)', async (t) => {
  await t.test('POST /_synapse/admin/v1/register admin with shared secret', async () => {
    const admin = await registerUser(server.url, 'ss_admin', { admin: true });
    assert.equal(admin.userId, '@ss_admin:localhost');
  });
  await t.test('POST /_synapse/admin/v1/register with shared secret', async () => {
    const user = await registerUser(server.url, 'ss_user');
    expectStatus(await clientOf(server, user).get('v3/account/whoami'), 200);
  });
  await t.test('POST /_synapse/admin/v1/register with shared secret disallows symbols', async () => {
    await assert.rejects(registerUser(server.url, 'bad!user'), /M_INVALID_USERNAME/);
  });
  await t.test('POST /_synapse/admin/v1/register with shared secret downcases capitals', async () => {
    const user = await registerUser(server.url, 'SS_Upper');
    assert.equal(user.userId, '@ss_upper:localhost');
  });
});
