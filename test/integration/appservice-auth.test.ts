import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom } from '../support/rooms.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice } from '../support/appservice.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { crossSigningKeys } from '../support/e2ee-keys.ts';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { reloadAppservices } from '../../server/appservices/setup.ts';

describe('appservice registration files at start-up', () => {
  const cases: Array<{ name: string; files: () => string[]; message: RegExp }> = [
    {
      name: 'a file that is not a registration',
      files: () => writeRegistrationFiles(['id: broken\nurl: 7\n']),
      message: /registration-0\.yaml: .*as_token/,
    },
    {
      name: 'a namespace regex that does not compile',
      files: () => writeRegistrationFiles([makeRegistration('bad', { namespaces: { users: [{ regex: '@bad_(.*', exclusive: true }] } })]),
      message: /registration-0\.yaml: namespaces\.users\.0\.regex/,
    },
    {
      name: 'two appservices with the same id',
      files: () => writeRegistrationFiles([makeRegistration('twin'), { ...makeRegistration('twin'), sender_localpart: 'other_bot', namespaces: { users: [] } }]),
      message: /id twin is also used by twin[\s\S]*registration-1\.yaml/,
    },
    {
      name: 'two appservices sharing a token',
      files: () => {
        const first = makeRegistration('first');
        return writeRegistrationFiles([first, makeRegistration('second', { as_token: first.as_token })]);
      },
      message: /second: a token is also used by first/,
    },
    {
      name: 'overlapping exclusive namespaces',
      files: () =>
        writeRegistrationFiles([
          makeRegistration('tg', { namespaces: { users: [{ regex: '@telegram_.*:localhost', exclusive: true }] } }),
          makeRegistration('tgbot', { namespaces: { users: [{ regex: '@telegram_bot_.*:localhost', exclusive: true }] } }),
        ]),
      message: /tg and tgbot: exclusive users namespaces overlap/,
    },
    {
      name: 'a file that does not exist',
      files: () => ['/nonexistent/registration.yaml'],
      message: /\/nonexistent\/registration\.yaml: cannot read the registration/,
    },
  ];
  for (const { name, files, message } of cases) {
    test(`refuses to start with ${name}, naming the file and the problem`, async () => {
      await assert.rejects(startTestServer({ app_service_config_files: files() }), message);
    });
  }
});

describe('appservice authentication', () => {
  let server: TestServer;
  let fake: FakeAppservice;
  let alice: TestUser;
  const bridge = makeRegistration('bridge', {
    namespaces: { users: [{ regex: '@bridge_.*:localhost', exclusive: true }], aliases: [], rooms: [] },
    rate_limited: false,
    'org.matrix.msc3202': true,
  });
  const open = makeRegistration('open', { namespaces: { users: [{ regex: '@shared_.*:localhost', exclusive: false }] } });
  const other = makeRegistration('other');

  before(async () => {
    fake = await startFakeAppservice(bridge.hs_token);
    bridge.url = fake.url;
    other.url = 'http://127.0.0.1:1';
    server = await startTestServer({
      app_service_config_files: writeRegistrationFiles([bridge, open, other]),
      rc_message: { per_second: 0.001, burst_count: 2 },
    });
    alice = await registerUser(server.url, 'alice');
  });
  after(async () => {
    await server?.stop();
    await fake?.close();
  });

  const asRequest = (method: string, path: string, token: string, body?: unknown) => request(server.url, method, path, { token, body });
  const userExists = async (userId: string) =>
    (await server.app.db.selectFrom('users').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;

  test('the as_token acts as the appservice sender, which exists from start-up', async () => {
    const result = await asRequest('GET', '/_matrix/client/v3/account/whoami', bridge.as_token);
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { user_id: '@bridge_bot:localhost', is_guest: false });
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/account/whoami', status: 200, body: result.body });
  });

  test('m.login.application_service registers users in its namespace without UIA, honouring inhibit_login', async () => {
    const inhibited = await asRequest('POST', '/_matrix/client/v3/register', bridge.as_token, { type: 'm.login.application_service', username: 'bridge_ghost1', inhibit_login: true });
    assert.equal(inhibited.status, 200, JSON.stringify(inhibited.body));
    assert.equal(inhibited.body.user_id, '@bridge_ghost1:localhost');
    assert.equal(inhibited.body.access_token, undefined);
    assert.equal(await userExists('@bridge_ghost1:localhost'), true);
    const withLogin = await asRequest('POST', '/_matrix/client/v3/register', bridge.as_token, { type: 'm.login.application_service', username: 'bridge_ghost2' });
    assert.equal(withLogin.status, 200);
    assert.equal(typeof withLogin.body.access_token, 'string');
    const own = await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token: withLogin.body.access_token });
    assert.equal(own.body.user_id, '@bridge_ghost2:localhost');
  });

  test('appservice registration refusals change nothing', async () => {
    const path = '/_matrix/client/v3/register';
    const outside = await asRequest('POST', path, bridge.as_token, { type: 'm.login.application_service', username: 'mallory' });
    await assertRefusal(outside, { status: 400, errcode: 'M_EXCLUSIVE', method: 'POST', path });
    assert.equal(await userExists('@mallory:localhost'), false);
    const othersNamespace = await asRequest('POST', path, bridge.as_token, { type: 'm.login.application_service', username: 'other_ghost' });
    await assertRefusal(othersNamespace, { status: 400, errcode: 'M_EXCLUSIVE', method: 'POST', path });
    assert.equal(await userExists('@other_ghost:localhost'), false);
    const noToken = await request(server.url, 'POST', path, { body: { type: 'm.login.application_service', username: 'bridge_ghost3' } });
    await assertRefusal(noToken, { status: 401, errcode: 'M_MISSING_TOKEN', method: 'POST', path, checkSpec: false });
    const unknownToken = await asRequest('POST', path, 'no-such-token', { type: 'm.login.application_service', username: 'bridge_ghost3' });
    await assertRefusal(unknownToken, { status: 401, errcode: 'M_UNKNOWN_TOKEN', method: 'POST', path, checkSpec: false });
    const userToken = await asRequest('POST', path, alice.accessToken, { type: 'm.login.application_service', username: 'bridge_ghost3' });
    await assertRefusal(userToken, { status: 401, errcode: 'M_UNKNOWN_TOKEN', method: 'POST', path, checkSpec: false });
    const noType = await asRequest('POST', path, bridge.as_token, { username: 'bridge_ghost3' });
    await assertRefusal(noType, { status: 400, errcode: 'M_MISSING_PARAM', method: 'POST', path, checkSpec: false });
    assert.equal(await userExists('@bridge_ghost3:localhost'), false);
    const taken = await asRequest('POST', path, bridge.as_token, { type: 'm.login.application_service', username: 'bridge_ghost1' });
    await assertRefusal(taken, { status: 400, errcode: 'M_USER_IN_USE', method: 'POST', path });
  });

  test('ordinary registration cannot take an exclusive namespace, but may take a non-exclusive one', async () => {
    const path = '/_matrix/client/v3/register';
    for (const username of ['bridge_sneaky', 'bridge_bot']) {
      const refused = await request(server.url, 'POST', path, { body: { username, password: 'a-long-password', auth: { type: 'm.login.dummy' } } });
      await assertRefusal(refused, { status: 400, errcode: 'M_EXCLUSIVE', method: 'POST', path });
      const available = await request(server.url, 'GET', `/_matrix/client/v3/register/available?username=${username}`);
      await assertRefusal(available, { status: 400, errcode: 'M_EXCLUSIVE', method: 'GET', path: '/_matrix/client/v3/register/available' });
    }
    assert.equal(await userExists('@bridge_sneaky:localhost'), false);
    const shared = await request(server.url, 'GET', '/_matrix/client/v3/register/available?username=shared_person');
    assert.equal(shared.status, 200);
  });

  test('user_id masquerading works inside the namespace and is refused outside it', async () => {
    const path = '/_matrix/client/v3/account/whoami';
    const ghost = await asRequest('GET', `${path}?user_id=${encodeURIComponent('@bridge_ghost1:localhost')}`, bridge.as_token);
    assert.equal(ghost.status, 200);
    assert.equal(ghost.body.user_id, '@bridge_ghost1:localhost');
    const refusals: Array<[string, string]> = [
      ['@alice:localhost', 'cannot masquerade'],
      ['@other_ghost:localhost', 'cannot masquerade'],
      ['@bridge_unregistered:localhost', 'has not registered'],
    ];
    for (const [userId, messageIncludes] of refusals) {
      const refused = await asRequest('GET', `${path}?user_id=${encodeURIComponent(userId)}`, bridge.as_token);
      await assertRefusal(refused, { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path, messageIncludes });
    }
    // A user's own token cannot assert anyone else.
    const plain = await request(server.url, 'GET', `${path}?user_id=${encodeURIComponent('@bridge_ghost1:localhost')}`, { token: alice.accessToken });
    assert.equal(plain.body.user_id, '@alice:localhost');
  });

  test('a masqueraded user acts in rooms as itself', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    const asGhost = (path: string) => `${path}${path.includes('?') ? '&' : '?'}user_id=${encodeURIComponent('@bridge_ghost1:localhost')}`;
    const joined = await asRequest('POST', asGhost(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`), bridge.as_token, {});
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    const sent = await asRequest('PUT', asGhost(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/g1`), bridge.as_token, { msgtype: 'm.text', body: 'from a ghost' });
    assert.equal(sent.status, 200);
    const event = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(sent.body.event_id)}`, { token: alice.accessToken });
    assert.equal(event.body.sender, '@bridge_ghost1:localhost');
  });

  test('device_id masquerading (MSC3202) needs an existing device of that user', async () => {
    const login = await asRequest('POST', '/_matrix/client/v3/login', bridge.as_token, {
      type: 'm.login.application_service',
      identifier: { type: 'm.id.user', user: 'bridge_ghost1' },
      device_id: 'GHOSTDEVICE',
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body.device_id, 'GHOSTDEVICE');
    const path = '/_matrix/client/v3/account/whoami';
    const ghostUser = `user_id=${encodeURIComponent('@bridge_ghost1:localhost')}`;
    for (const name of ['org.matrix.msc3202.device_id', 'device_id']) {
      const masqueraded = await asRequest('GET', `${path}?${ghostUser}&${name}=GHOSTDEVICE`, bridge.as_token);
      assert.deepEqual(masqueraded.body, { user_id: '@bridge_ghost1:localhost', device_id: 'GHOSTDEVICE', is_guest: false });
    }
    const unknown = await asRequest('GET', `${path}?${ghostUser}&org.matrix.msc3202.device_id=NOSUCHDEVICE`, bridge.as_token);
    await assertRefusal(unknown, { status: 400, errcode: 'M_EXCLUSIVE', method: 'GET', path, checkSpec: false });
    // Someone else's device is unknown for this user.
    const aliceDevice = await asRequest('GET', `${path}?${ghostUser}&org.matrix.msc3202.device_id=${alice.deviceId}`, bridge.as_token);
    await assertRefusal(aliceDevice, { status: 400, errcode: 'M_EXCLUSIVE', method: 'GET', path, checkSpec: false });
  });

  test('m.login.application_service login is refused outside the namespace and without the as_token', async () => {
    const path = '/_matrix/client/v3/login';
    const outside = await asRequest('POST', path, bridge.as_token, { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'alice' } });
    await assertRefusal(outside, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path });
    const neverRegistered = await asRequest('POST', path, bridge.as_token, { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'bridge_nobody' } });
    await assertRefusal(neverRegistered, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path });
    const othersToken = await asRequest('POST', path, other.as_token, { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'bridge_ghost1' } });
    await assertRefusal(othersToken, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path });
    const noToken = await request(server.url, 'POST', path, { body: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'bridge_ghost1' } } });
    await assertRefusal(noToken, { status: 401, errcode: 'M_UNKNOWN_TOKEN', method: 'POST', path, checkSpec: false });
    // A password login is not spoiled by a stale token the client still sends (only as_tokens count here).
    const stale = await request(server.url, 'POST', path, { token: 'not-a-token-anymore', body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: alice.password } });
    assert.equal(stale.status, 200, JSON.stringify(stale.body));
    const flows = await request(server.url, 'GET', path);
    assert.ok(flows.body.flows.some((flow: { type: string }) => flow.type === 'm.login.application_service'));
  });

  test('rate_limited: false skips the message rate limit; rate-limited appservices and users are limited', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    const join = (registration: typeof bridge) => asRequest('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, registration.as_token, {});
    assert.equal((await join(bridge)).status, 200);
    assert.equal((await join(open)).status, 200);
    const send = (token: string, n: number) =>
      request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/rl${n}-${token.slice(0, 6)}`, { token, body: { msgtype: 'm.text', body: `n${n}` } });
    for (let n = 0; n < 6; n++) assert.equal((await send(bridge.as_token, n)).status, 200, `unlimited appservice message ${n}`);
    const limited = [];
    for (let n = 0; n < 4; n++) limited.push((await send(open.as_token, n)).status);
    assert.ok(limited.includes(429), `a rate-limited appservice is limited: ${limited}`);
  });

  test('ping calls the appservice with its hs_token and reports the duration', async () => {
    const path = '/_matrix/client/v1/appservice/bridge/ping';
    const result = await asRequest('POST', path, bridge.as_token, { transaction_id: 'ping-1' });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(typeof result.body.duration_ms, 'number');
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v1/appservice/{appserviceId}/ping', status: 200, body: result.body });
    assert.deepEqual(fake.pings, [{ transaction_id: 'ping-1' }]);
    assert.equal(fake.unauthorised, 0);
  });

  test('ping refusals: another appservice, a user, no url, an unreachable appservice', async () => {
    const path = '/_matrix/client/v1/appservice/bridge/ping';
    await assertRefusal(await asRequest('POST', path, other.as_token, {}), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path });
    await assertRefusal(await asRequest('POST', path, alice.accessToken, {}), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path });
    const noUrl = '/_matrix/client/v1/appservice/open/ping';
    await assertRefusal(await asRequest('POST', noUrl, open.as_token, {}), { status: 400, errcode: 'M_URL_NOT_SET', method: 'POST', path: noUrl });
    const down = '/_matrix/client/v1/appservice/other/ping';
    const failed = await asRequest('POST', down, other.as_token, {});
    assert.equal(failed.status, 502);
    assert.equal(failed.body.errcode, 'M_CONNECTION_FAILED');
    assert.equal(fake.pings.length, 1, 'no ping reached the bridge for the refused requests');
  });
});

test('ping reports an appservice that answers with an error status', async (t) => {
  const registration = makeRegistration('grumpy');
  const fake = await startFakeAppservice(registration.hs_token, { pingStatus: 500 });
  registration.url = fake.url;
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  t.after(async () => {
    await server.stop();
    await fake.close();
  });
  const result = await request(server.url, 'POST', '/_matrix/client/v1/appservice/grumpy/ping', { token: registration.as_token, body: {} });
  assert.equal(result.status, 502);
  assert.equal(result.body.errcode, 'M_BAD_STATUS');
  assert.equal(result.body.status, 500);
  assert.match(result.body.body, /not today/);
});

test('registrations reload from their files; an invalid new set is refused and the old one stays', async (t) => {
  const first = makeRegistration('first');
  const [path] = writeRegistrationFiles([first]);
  const server = await startTestServer({ app_service_config_files: [path] });
  t.after(() => server.stop());
  const whoami = (token: string) => request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token });
  assert.equal((await whoami(first.as_token)).status, 200);

  const replacement = makeRegistration('replacement');
  writeFileSync(path, stringify(replacement));
  await reloadAppservices(server.app);
  assert.equal((await whoami(first.as_token)).status, 401, 'the removed appservice token no longer works');
  assert.equal((await whoami(replacement.as_token)).body.user_id, '@replacement_bot:localhost', 'the new sender exists at once');

  writeFileSync(path, 'id: broken\n');
  await assert.rejects(reloadAppservices(server.app), /registration-0\.yaml/);
  assert.equal((await whoami(replacement.as_token)).status, 200, 'the previous set is still in force');
});

test('MSC4190: an appservice managing devices creates and deletes them itself, and does not log in', async (t) => {
  const registration = makeRegistration('devices', { 'io.element.msc4190': true, 'org.matrix.msc3202': true });
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  t.after(() => server.stop());
  const as = (method: string, path: string, body?: unknown) => request(server.url, method, path, { token: registration.as_token, body });
  const ghost = encodeURIComponent('@devices_ghost:localhost');

  const noInhibit = await as('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'devices_ghost' });
  assert.equal(noInhibit.status, 400);
  assert.equal(noInhibit.body.errcode, 'M_APPSERVICE_LOGIN_UNSUPPORTED');
  assert.equal((await as('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'devices_ghost', inhibit_login: true })).status, 200);
  const login = await as('POST', '/_matrix/client/v3/login', { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'devices_ghost' } });
  assert.equal(login.body.errcode, 'M_APPSERVICE_LOGIN_UNSUPPORTED');

  const created = await as('PUT', `/_matrix/client/v3/devices/BOTDEVICE?user_id=${ghost}`, { display_name: 'bot crypto' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const listed = await as('GET', `/_matrix/client/v3/devices?user_id=${ghost}`);
  assert.deepEqual(listed.body.devices.map((device: { device_id: string; display_name: string }) => [device.device_id, device.display_name]), [['BOTDEVICE', 'bot crypto']]);
  // Acting as that device (MSC3202) now works.
  const whoami = await as('GET', `/_matrix/client/v3/account/whoami?user_id=${ghost}&device_id=BOTDEVICE`);
  assert.equal(whoami.body.device_id, 'BOTDEVICE');
  const renamed = await as('PUT', `/_matrix/client/v3/devices/BOTDEVICE?user_id=${ghost}`, { display_name: 'renamed' });
  assert.equal(renamed.status, 200);
  const deleted = await as('DELETE', `/_matrix/client/v3/devices/BOTDEVICE?user_id=${ghost}`, {});
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.deepEqual((await as('GET', `/_matrix/client/v3/devices?user_id=${ghost}`)).body.devices, []);
});

test('MSC4190: an appservice uploads and replaces its users’ cross-signing keys without UIA; a user still needs UIA', async (t) => {
  const registration = makeRegistration('signing', { 'io.element.msc4190': true });
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  t.after(() => server.stop());
  const ghostId = '@signing_ghost:localhost';
  const path = '/_matrix/client/v3/keys/device_signing/upload';
  const upload = (body: unknown, token = registration.as_token, asUser = true) =>
    request(server.url, 'POST', asUser ? `${path}?user_id=${encodeURIComponent(ghostId)}` : path, { token, body });
  const masterOf = async (userId: string, token: string) =>
    (await request(server.url, 'POST', '/_matrix/client/v3/keys/query', { token, body: { device_keys: { [userId]: [] } } })).body.master_keys?.[userId];
  assert.equal(
    (await request(server.url, 'POST', '/_matrix/client/v3/register', { token: registration.as_token, body: { type: 'm.login.application_service', username: 'signing_ghost', inhibit_login: true } })).status,
    200,
  );

  const first = crossSigningKeys(ghostId);
  const uploaded = await upload(first.body);
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
  await assertMatchesSpec({ method: 'POST', path, status: 200, body: uploaded.body });
  const second = crossSigningKeys(ghostId);
  const replaced = await upload({ master_key: second.body.master_key });
  assert.equal(replaced.status, 200, 'a replacement needs no UIA either');
  assert.deepEqual((await masterOf(ghostId, registration.as_token))?.keys, second.body.master_key.keys);

  // A bad key is still refused, and changes nothing.
  const foreign = crossSigningKeys('@someone_else:localhost');
  await assertRefusal(await upload({ master_key: foreign.body.master_key }), { status: 400, errcode: 'M_INVALID_PARAM', method: 'POST', path });
  assert.deepEqual((await masterOf(ghostId, registration.as_token))?.keys, second.body.master_key.keys);

  // An ordinary user replacing a master key still meets UIA.
  const alice = await registerUser(server.url, 'alice');
  assert.equal((await upload(crossSigningKeys(alice.userId).body, alice.accessToken, false)).status, 200, 'the first upload needs no UIA (MSC3967)');
  const aliceMaster = await masterOf(alice.userId, alice.accessToken);
  const challenged = await upload({ master_key: crossSigningKeys(alice.userId).body.master_key }, alice.accessToken, false);
  assert.equal(challenged.status, 401);
  assert.ok(Array.isArray(challenged.body.flows));
  assert.deepEqual(await masterOf(alice.userId, alice.accessToken), aliceMaster);
});

test('without MSC4190 an appservice cannot create devices and deletes them behind UIA like anyone', async (t) => {
  const registration = makeRegistration('plain');
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  t.after(() => server.stop());
  const as = (method: string, path: string, body?: unknown) => request(server.url, method, path, { token: registration.as_token, body });
  const made = await as('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'plain_ghost', device_id: 'REALDEVICE' });
  assert.equal(made.status, 200);
  const ghost = encodeURIComponent('@plain_ghost:localhost');
  const path = '/_matrix/client/v3/devices/{deviceId}';
  await assertRefusal(await as('PUT', `/_matrix/client/v3/devices/NEWDEVICE?user_id=${ghost}`, {}), { status: 404, errcode: 'M_NOT_FOUND', method: 'PUT', path });
  const uia = await as('DELETE', `/_matrix/client/v3/devices/REALDEVICE?user_id=${ghost}`, {});
  assert.equal(uia.status, 401);
  assert.ok(Array.isArray(uia.body.flows));
  assert.equal((await as('GET', `/_matrix/client/v3/devices?user_id=${ghost}`)).body.devices.length, 1);
});

test('timestamp massaging: an appservice sets origin_server_ts with ?ts=, anyone else’s ts is ignored', async (t) => {
  const registration = makeRegistration('stamps');
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  t.after(() => server.stop());
  const alice = await registerUser(server.url, 'alice');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const room = encodeURIComponent(roomId);
  assert.equal((await request(server.url, 'POST', `/_matrix/client/v3/rooms/${room}/join`, { token: registration.as_token, body: {} })).status, 200);
  const then = 1_500_000_000_000;
  const sent = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${room}/send/m.room.message/ts1?ts=${then}`, { token: registration.as_token, body: { msgtype: 'm.text', body: 'bridged from 2017' } });
  const state = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${room}/state/m.room.topic/?ts=${then + 1}`, { token: alice.accessToken, body: { topic: 'now' } });
  assert.equal(sent.status, 200);
  assert.equal(state.status, 200);
  const read = async (eventId: string) =>
    (await request(server.url, 'GET', `/_matrix/client/v3/rooms/${room}/event/${encodeURIComponent(eventId)}`, { token: alice.accessToken })).body.origin_server_ts;
  assert.equal(await read(sent.body.event_id), then);
  assert.notEqual(await read(state.body.event_id), then + 1, 'a user cannot backdate');
  // A membership event sent as state (Complemau's membership case); /join, /invite, /leave take no ts, as in Synapse.
  const sender = encodeURIComponent('@stamps_bot:localhost');
  const member = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${room}/state/m.room.member/${sender}?ts=1`, {
    token: registration.as_token,
    body: { membership: 'join', displayname: 'Stamped bot' },
  });
  assert.equal(member.status, 200, JSON.stringify(member.body));
  assert.equal(await read(member.body.event_id), 1);
  const bad = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${room}/send/m.room.message/ts2?ts=yesterday`, { token: registration.as_token, body: { msgtype: 'm.text', body: 'x' } });
  assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
});
