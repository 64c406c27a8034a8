import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, registerUser, type HttpResult } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { snapshotTables } from '../support/db-snapshot.ts';

const REGISTER = '/_matrix/client/v3/register';
const AVAILABLE = '/_matrix/client/v3/register/available';
const VALIDITY = '/_matrix/client/v1/register/m.login.registration_token/validity';

/** Starts UIA for /register and returns the 401 body, checked against the spec. */
async function startRegistration(server: TestServer, body: Record<string, unknown>): Promise<Record<string, any>> {
  const challenge = await request(server.url, 'POST', REGISTER, { body });
  assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
  await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 401, body: challenge.body });
  assert.equal(typeof challenge.body.session, 'string');
  return challenge.body;
}

async function registerWithDummy(server: TestServer, body: Record<string, unknown>): Promise<HttpResult> {
  const { session } = await startRegistration(server, body);
  return request(server.url, 'POST', REGISTER, { body: { ...body, auth: { type: 'm.login.dummy', session } } });
}

describe('open registration (m.login.dummy)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('answers 401 with flows and a session, then registers and logs in', async () => {
    const challenge = await startRegistration(server, { username: 'alice', password: 'correct horse' });
    assert.deepEqual(challenge.flows, [{ stages: ['m.login.dummy'] }]);
    assert.deepEqual(challenge.completed, []);

    const done = await request(server.url, 'POST', REGISTER, {
      body: { username: 'alice', password: 'correct horse', auth: { type: 'm.login.dummy', session: challenge.session } },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 200, body: done.body });
    assert.equal(done.body.user_id, '@alice:localhost');
    assert.equal(typeof done.body.access_token, 'string');
    assert.equal(typeof done.body.device_id, 'string');

    const whoami = await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token: done.body.access_token });
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.user_id, '@alice:localhost');
    assert.equal(whoami.body.device_id, done.body.device_id);

    // The finished session is gone: it cannot register a second account.
    const replay = await request(server.url, 'POST', REGISTER, {
      body: { username: 'alice2', password: 'pw', auth: { type: 'm.login.dummy', session: challenge.session } },
    });
    assert.equal(replay.status, 400, JSON.stringify(replay.body));
    const users = await server.app.db.selectFrom('users').select('user_id').where('user_id', '=', '@alice2:localhost').execute();
    assert.deepEqual(users, []);
  });

  it('honours device_id and initial_device_display_name', async () => {
    const done = await registerWithDummy(server, {
      username: 'bob',
      password: 'pw-bob',
      device_id: 'BOBPHONE',
      initial_device_display_name: "Bob's phone",
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 200, body: done.body });
    assert.equal(done.body.device_id, 'BOBPHONE');
    const device = await request(server.url, 'GET', '/_matrix/client/v3/devices/BOBPHONE', { token: done.body.access_token });
    assert.equal(device.status, 200);
    assert.equal(device.body.display_name, "Bob's phone");
  });

  it('inhibit_login creates the account without a device or token', async () => {
    const done = await registerWithDummy(server, { username: 'carol', password: 'pw-carol', inhibit_login: true });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 200, body: done.body });
    assert.equal(done.body.user_id, '@carol:localhost');
    assert.equal(done.body.access_token, undefined);
    assert.equal(done.body.device_id, undefined);
    const devices = await server.app.db.selectFrom('devices').select('device_id').where('user_id', '=', '@carol:localhost').execute();
    assert.deepEqual(devices, []);
    const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'pw-carol' },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
  });

  it('reports availability of usernames', async () => {
    const free = await request(server.url, 'GET', `${AVAILABLE}?username=nobody-yet`);
    assert.equal(free.status, 200);
    await assertMatchesSpec({ method: 'GET', path: AVAILABLE, status: 200, body: free.body });
    assert.equal(free.body.available, true);

    await registerUser(server.url, 'taken');
    const taken = await request(server.url, 'GET', `${AVAILABLE}?username=taken`);
    await assertRefusal(taken, { status: 400, errcode: 'M_USER_IN_USE', method: 'GET', path: AVAILABLE });
    const invalid = await request(server.url, 'GET', `${AVAILABLE}?username=Not%20Valid`);
    await assertRefusal(invalid, { status: 400, errcode: 'M_INVALID_USERNAME', method: 'GET', path: AVAILABLE });
  });

  const longLocalpart = 'a'.repeat(256);
  /** Long enough that `@<localpart>:localhost` passes 255 bytes, though the localpart alone does not. */
  const longUserId = 'b'.repeat(250);
  const refusals: Array<{ name: string; query?: string; body: Record<string, unknown>; status: number; errcode: string }> = [
    { name: 'a username with a symbol', body: { username: 'dave!', password: 'pw' }, status: 400, errcode: 'M_INVALID_USERNAME' },
    { name: 'a username with a space', body: { username: 'da ve', password: 'pw' }, status: 400, errcode: 'M_INVALID_USERNAME' },
    { name: 'an empty username', body: { username: '', password: 'pw' }, status: 400, errcode: 'M_INVALID_USERNAME' },
    { name: 'a localpart over 255 characters', body: { username: longLocalpart, password: 'pw' }, status: 400, errcode: 'M_INVALID_USERNAME' },
    { name: 'a user ID over 255 bytes', body: { username: longUserId, password: 'pw' }, status: 400, errcode: 'M_INVALID_USERNAME' },
    { name: 'a taken username', body: { username: 'taken', password: 'pw' }, status: 400, errcode: 'M_USER_IN_USE' },
    { name: 'a guest registration', query: '?kind=guest', body: {}, status: 403, errcode: 'M_GUEST_ACCESS_FORBIDDEN' },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} and changes nothing`, async () => {
      const before = await snapshotTables(server.app.db);
      // Both before UIA starts and with a completed dummy stage.
      for (const auth of [undefined, { type: 'm.login.dummy' }]) {
        const path = `${REGISTER}${refusal.query ?? ''}`;
        const result = await request(server.url, 'POST', path, { body: { ...refusal.body, ...(auth ? { auth } : {}) } });
        await assertRefusal(result, { status: refusal.status, errcode: refusal.errcode, method: 'POST', path });
      }
      assert.deepEqual(await snapshotTables(server.app.db), before);
    });
  }

  it('does not let a session started for /register authorise /account/password', async () => {
    const { session } = await startRegistration(server, { username: 'erin', password: 'pw' });
    const frank = await registerUser(server.url, 'frank');
    const before = await snapshotTables(server.app.db);
    const result = await request(server.url, 'POST', '/_matrix/client/v3/account/password', {
      token: frank.accessToken,
      body: {
        new_password: 'hijacked',
        auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'frank' }, password: frank.password, session },
      },
    });
    assert.equal(result.status, 403, JSON.stringify(result.body));
    assert.equal(result.body.errcode, 'M_FORBIDDEN');
    assert.equal(typeof result.body.error, 'string');
    assert.deepEqual(await snapshotTables(server.app.db), before);
  });

  it('says registration tokens are not in use here', async () => {
    const result = await request(server.url, 'GET', `${VALIDITY}?token=anything`);
    await assertRefusal(result, { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path: VALIDITY });
  });
});

describe('closed registration (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ enable_registration: false, enable_registration_without_verification: false });
  });
  after(() => server.stop());

  it('refuses /register with 403 M_FORBIDDEN and creates nothing', async () => {
    const before = await snapshotTables(server.app.db);
    for (const auth of [undefined, { type: 'm.login.dummy' }]) {
      const result = await request(server.url, 'POST', REGISTER, { body: { username: 'gina', password: 'pw', auth } });
      await assertRefusal(result, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: REGISTER });
    }
    assert.deepEqual(await snapshotTables(server.app.db), before);
  });
});

describe('registration requiring a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ registration_requires_token: true, enable_registration_without_verification: false });
    const now = Date.now();
    await server.app.db
      .insertInto('registration_tokens')
      .values([
        { token: 'once', uses_allowed: 1, expiry_time: null, created_ts: now },
        { token: 'expired', uses_allowed: null, expiry_time: now - 60_000, created_ts: now - 120_000 },
        { token: 'unlimited', uses_allowed: null, expiry_time: now + 3_600_000, created_ts: now },
      ])
      .execute();
  });
  after(() => server.stop());

  async function registerWithToken(username: string, token: string): Promise<HttpResult> {
    const { session, flows } = await startRegistration(server, { username, password: 'pw' });
    assert.deepEqual(flows, [{ stages: ['m.login.registration_token'] }]);
    return request(server.url, 'POST', REGISTER, {
      body: { username, password: 'pw', auth: { type: 'm.login.registration_token', token, session } },
    });
  }

  it('reports token validity', async () => {
    for (const [token, valid] of [['once', true], ['unlimited', true], ['expired', false], ['no-such-token', false]] as const) {
      const result = await request(server.url, 'GET', `${VALIDITY}?token=${token}`);
      assert.equal(result.status, 200, JSON.stringify(result.body));
      await assertMatchesSpec({ method: 'GET', path: VALIDITY, status: 200, body: result.body });
      assert.equal(result.body.valid, valid, token);
    }
  });

  it('does not accept the dummy stage', async () => {
    const { session } = await startRegistration(server, { username: 'henry', password: 'pw' });
    const result = await request(server.url, 'POST', REGISTER, {
      body: { username: 'henry', password: 'pw', auth: { type: 'm.login.dummy', session } },
    });
    assert.equal(result.status, 401);
    await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 401, body: result.body });
    assert.equal(await server.app.db.selectFrom('users').select('user_id').executeTakeFirst(), undefined);
  });

  it('refuses an unknown or expired token with M_UNAUTHORIZED in the UIA body, creating nobody', async () => {
    for (const token of ['no-such-token', 'expired']) {
      const before = await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens', 'registration_tokens']);
      const result = await registerWithToken(`user-${token}`, token);
      assert.equal(result.status, 401, JSON.stringify(result.body));
      await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 401, body: result.body });
      assert.equal(result.body.errcode, 'M_UNAUTHORIZED');
      assert.equal(typeof result.body.error, 'string');
      assert.deepEqual(result.body.completed, []);
      assert.deepEqual(await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens', 'registration_tokens']), before);
    }
  });

  it('accepts a single-use token once, then refuses it', async () => {
    const first = await registerWithToken('ivan', 'once');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 200, body: first.body });
    assert.equal(first.body.user_id, '@ivan:localhost');
    const row = await server.app.db.selectFrom('registration_tokens').selectAll().where('token', '=', 'once').executeTakeFirstOrThrow();
    assert.equal(row.completed, 1);
    assert.equal(row.pending, 0);

    const validity = await request(server.url, 'GET', `${VALIDITY}?token=once`);
    assert.equal(validity.body.valid, false);

    const before = await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens', 'registration_tokens']);
    const second = await registerWithToken('judy', 'once');
    assert.equal(second.status, 401, JSON.stringify(second.body));
    assert.equal(second.body.errcode, 'M_UNAUTHORIZED');
    assert.deepEqual(await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens', 'registration_tokens']), before);
  });

  it('lets only one of two concurrent registrations spend a single-use token', async () => {
    await server.app.db.insertInto('registration_tokens').values({ token: 'race', uses_allowed: 1, expiry_time: null, created_ts: Date.now() }).execute();
    const results = await Promise.all(['racer-a', 'racer-b'].map((name) => registerWithToken(name, 'race')));
    assert.deepEqual(results.map((result) => result.status).sort(), [200, 401]);
    const row = await server.app.db.selectFrom('registration_tokens').selectAll().where('token', '=', 'race').executeTakeFirstOrThrow();
    assert.deepEqual([row.pending, row.completed], [0, 1]);
  });

  it('releases a token held by an abandoned UIA session once the session expires', async () => {
    const now = Date.now();
    // A session that passed the token stage two hours ago and never finished registering.
    await server.app.db.insertInto('registration_tokens').values({ token: 'held', uses_allowed: 1, pending: 1, expiry_time: null, created_ts: now }).execute();
    await server.app.db
      .insertInto('uia_sessions')
      .values({
        session_id: 'abandoned',
        request_key: 'POST /register',
        user_id: null,
        completed: '["m.login.registration_token"]' as never,
        results: '{"registration_token":"held"}' as never,
        created_ts: now - 2 * 3_600_000,
      })
      .execute();
    assert.equal((await request(server.url, 'GET', `${VALIDITY}?token=held`)).body.valid, false, 'held by the abandoned session');
    await startRegistration(server, { username: 'someone-new', password: 'pw' }); // any UIA step prunes expired sessions
    assert.equal((await request(server.url, 'GET', `${VALIDITY}?token=held`)).body.valid, true, 'released');
    assert.equal(await server.app.db.selectFrom('uia_sessions').select('session_id').where('session_id', '=', 'abandoned').executeTakeFirst(), undefined);
    const result = await registerWithToken('latecomer', 'held');
    assert.equal(result.status, 200, JSON.stringify(result.body));
  });

  it('lets an unlimited token register several accounts', async () => {
    for (const name of ['kim', 'lee']) {
      const result = await registerWithToken(name, 'unlimited');
      assert.equal(result.status, 200, JSON.stringify(result.body));
      await assertMatchesSpec({ method: 'POST', path: REGISTER, status: 200, body: result.body });
    }
    const row = await server.app.db.selectFrom('registration_tokens').selectAll().where('token', '=', 'unlimited').executeTakeFirstOrThrow();
    assert.equal(row.completed, 2);
  });
});

describe('registration rate limit', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ rc_registration: { per_second: 0.1, burst_count: 2 } });
  });
  after(() => server.stop());

  it('answers the third request in a burst with 429 and retry_after_ms', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await request(server.url, 'POST', REGISTER, { body: { username: `rl${attempt}`, password: 'pw' } });
      assert.equal(result.status, 401, JSON.stringify(result.body));
    }
    const before = await snapshotTables(server.app.db);
    const limited = await request(server.url, 'POST', REGISTER, { body: { username: 'rl2', password: 'pw' } });
    await assertRefusal(limited, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'POST', path: REGISTER });
    assert.equal(typeof limited.body.retry_after_ms, 'number');
    assert.ok(limited.body.retry_after_ms > 0 && limited.body.retry_after_ms <= 20_000, String(limited.body.retry_after_ms));
    assert.deepEqual(await snapshotTables(server.app.db), before);
  });
});
