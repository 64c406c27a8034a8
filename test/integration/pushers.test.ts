import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { startFakePushGateway } from '../support/push-gateway.ts';
import { postNotification } from '../../server/push/gateway-client.ts';
import { sql } from 'kysely';
import type { PushersTable, PushNotificationsTable, PushProgressTable } from '../../server/storage/tables/push.ts';
import { assertTableColumns } from '../support/table-columns.ts';

/** Column names per table; `satisfies` makes tsc fail when a table type and this list disagree. */
const COLUMNS = {
  pushers: {
    id: 1, user_id: 1, access_token_hash: 1, device_id: 1, kind: 1, app_id: 1, pushkey: 1, pushkey_ts: 1, app_display_name: 1,
    device_display_name: 1, profile_tag: 1, lang: 1, data: 1, last_notification_id: 1, from_stream_ordering: 1,
  } satisfies Record<keyof PushersTable, 1>,
  push_notifications: { id: 1, user_id: 1, room_id: 1, event_id: 1, stream_ordering: 1, actions: 1, highlight: 1, ts: 1, thread_id: 1 } satisfies Record<keyof PushNotificationsTable, 1>,
  push_progress: { id: 1, announced: 1, evaluated: 1 } satisfies Record<keyof PushProgressTable, 1>,
};

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

const GATEWAY = 'https://push.example.org/_matrix/push/v1/notify';

before(async () => {
  server = await startTestServer({ push: { allowed_http_gateway_hosts: ['127.0.0.1'] } });
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

function pusher(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'http',
    app_id: 'org.example.app.ios',
    pushkey: 'key-1',
    app_display_name: 'Example',
    device_display_name: 'Phone',
    lang: 'en',
    data: { url: GATEWAY, format: 'event_id_only', custom: 'kept' },
    ...overrides,
  };
}

const setPusher = (user: TestUser, body: unknown) => request(server.url, 'POST', '/_matrix/client/v3/pushers/set', { token: user.accessToken, body });
const listPushers = async (user: TestUser) => {
  const result = await request(server.url, 'GET', '/_matrix/client/v3/pushers', { token: user.accessToken });
  assert.equal(result.status, 200);
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/pushers', status: 200, body: result.body });
  return result.body.pushers as Array<Record<string, any>>;
};

test('pushers: set, list, replace, delete with kind null', async () => {
  const set = await setPusher(alice, pusher({ profile_tag: 'tag' }));
  assert.equal(set.status, 200);
  await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/pushers/set', status: 200, body: set.body });
  assert.deepEqual(await listPushers(alice), [
    { pushkey: 'key-1', kind: 'http', app_id: 'org.example.app.ios', app_display_name: 'Example', device_display_name: 'Phone', profile_tag: 'tag', lang: 'en', data: { url: GATEWAY, format: 'event_id_only', custom: 'kept' } },
  ]);
  assert.deepEqual(await listPushers(bob), [], 'pushers are per user');

  assert.equal((await setPusher(alice, pusher({ device_display_name: 'New phone' }))).status, 200);
  const replaced = await listPushers(alice);
  assert.equal(replaced.length, 1, 'same app_id and pushkey replaces');
  assert.equal(replaced[0].device_display_name, 'New phone');

  assert.equal((await setPusher(alice, { kind: null, app_id: 'org.example.app.ios', pushkey: 'key-1' })).status, 200);
  assert.deepEqual(await listPushers(alice), []);
});

test('pushers: without append another user’s pusher with the same app_id and pushkey is removed; with append both stay', async () => {
  const shared = { app_id: 'org.example.shared', pushkey: 'shared-key' };
  assert.equal((await setPusher(alice, pusher(shared))).status, 200);
  assert.equal((await setPusher(bob, pusher({ ...shared, append: true }))).status, 200);
  assert.equal((await listPushers(alice)).length, 1);
  assert.equal((await listPushers(bob)).length, 1);
  assert.equal((await setPusher(bob, pusher(shared))).status, 200);
  assert.deepEqual(await listPushers(alice), [], 'bob took the pushkey over');
  assert.equal((await listPushers(bob)).length, 1);
  await setPusher(bob, { kind: null, ...shared });
});

test('pushers are deleted with the access token (logout) and the device that set them', async () => {
  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: alice.password },
  });
  assert.equal(login.status, 200);
  const second: TestUser = { ...alice, accessToken: login.body.access_token, deviceId: login.body.device_id };
  assert.equal((await setPusher(second, pusher({ pushkey: 'second-device' }))).status, 200);
  assert.equal((await setPusher(alice, pusher({ pushkey: 'first-device' }))).status, 200);
  assert.deepEqual((await listPushers(alice)).map((row) => row.pushkey).sort(), ['first-device', 'second-device']);

  assert.equal((await request(server.url, 'POST', '/_matrix/client/v3/logout', { token: second.accessToken })).status, 200);
  assert.deepEqual((await listPushers(alice)).map((row) => row.pushkey), ['first-device'], 'logging out removed that session’s pusher only');
  await setPusher(alice, { kind: null, app_id: 'org.example.app.ios', pushkey: 'first-device' });
});

test('pushers/set refusals: missing fields, bad URLs, unsupported kinds, over-long values, no token; nothing is stored', async () => {
  const path = '/_matrix/client/v3/pushers/set';
  const cases: Array<[string, unknown, string, number?]> = [
    ['no lang or data', { kind: 'http', app_id: 'a', pushkey: 'k', app_display_name: 'A', device_display_name: 'D' }, 'M_MISSING_PARAM'],
    ['no pushkey', { kind: 'http', app_id: 'a' }, 'M_MISSING_PARAM'],
    ['no url', pusher({ data: {} }), 'M_INVALID_PARAM'],
    ['plain http to a host not allowed', pusher({ data: { url: 'http://push.example.org/_matrix/push/v1/notify' } }), 'M_INVALID_PARAM'],
    ['another path', pusher({ data: { url: 'https://push.example.org/notify' } }), 'M_INVALID_PARAM'],
    ['credentials in the URL', pusher({ data: { url: 'https://user:pw@push.example.org/_matrix/push/v1/notify' } }), 'M_INVALID_PARAM'],
    ['not a URL', pusher({ data: { url: 'not a url' } }), 'M_INVALID_PARAM'],
    ['an unknown format', pusher({ data: { url: GATEWAY, format: 'full' } }), 'M_INVALID_PARAM'],
    ['email pushers', pusher({ kind: 'email', app_id: 'm.email', pushkey: 'a@example.org' }), 'M_INVALID_PARAM'],
    ['app_id over 64 chars', pusher({ app_id: 'a'.repeat(65) }), 'M_BAD_JSON'],
    ['pushkey over 512 bytes', pusher({ pushkey: 'é'.repeat(257) }), 'M_BAD_JSON'],
    ['data too large', pusher({ data: { url: GATEWAY, blob: 'x'.repeat(5000) } }), 'M_BAD_JSON'],
    ['append not a boolean', pusher({ append: 'yes' }), 'M_BAD_JSON'],
  ];
  for (const [what, body, errcode] of cases) {
    await assertRefusal(await setPusher(bob, body), { status: 400, errcode, method: 'POST', path, messageIncludes: undefined }).catch((error) => assert.fail(`${what}: ${error.message}`));
    assert.deepEqual(await listPushers(bob), [], what);
  }
  await assertRefusal(await request(server.url, 'POST', path, { body: pusher() }), { status: 401, errcode: 'M_MISSING_TOKEN', method: 'POST', path, checkSpec: false });
  await assertRefusal(await request(server.url, 'GET', '/_matrix/client/v3/pushers'), { status: 401, errcode: 'M_MISSING_TOKEN', method: 'GET', path: '/_matrix/client/v3/pushers', checkSpec: false });
});

test('pushers/set: at most 20 pushers per user', async () => {
  const carol = await registerUser(server.url, 'carol');
  for (let i = 0; i < 20; i++) assert.equal((await setPusher(carol, pusher({ pushkey: `k${i}` }))).status, 200);
  const refused = await setPusher(carol, pusher({ pushkey: 'one-too-many' }));
  await assertRefusal(refused, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'POST', path: '/_matrix/client/v3/pushers/set' });
  assert.equal((await listPushers(carol)).length, 20);
  assert.equal((await setPusher(carol, pusher({ pushkey: 'k3', lang: 'de' }))).status, 200, 'replacing one is still allowed');
});

test('push gateways on private or loopback addresses are refused unless ip_range_whitelist opens them', async () => {
  const gateway = await startFakePushGateway();
  try {
    // This server has no ip_range_whitelist: 127.0.0.1 is in the built-in refused ranges.
    const answer = await postNotification(server.app, new URL(gateway.url), { notification: { devices: [] } });
    assert.equal(answer.ok, false);
    assert.match(answer.ok ? '' : answer.reason, /refused range/);
    assert.equal(gateway.received.length, 0, 'no request reached the gateway');
    const opened = { ...server.app, config: { ...server.app.config, ip_range_whitelist: ['127.0.0.1/32'] } };
    assert.deepEqual(await postNotification(opened, new URL(gateway.url), { notification: { devices: [] } }), { ok: true, rejected: [] });
    assert.equal(gateway.received.length, 1);
  } finally {
    await gateway.stop();
  }
});

test('the migrated push tables have exactly the columns their table types declare; the search and notification indexes exist', async () => {
  await assertTableColumns(server.app.db, COLUMNS);
  const indexes = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`.execute(server.app.db);
  for (const index of ['events_search_idx', 'push_notifications_user_idx', 'pushers_user_idx']) assert.ok(indexes.rows.some((row) => row.indexname === index), index);
});
