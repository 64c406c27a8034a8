import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startHomeserver } from '../../server/homeserver.ts';
import { startTestServer } from '../support/server.ts';
import { registerUser, request } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig } from '../support/redis-config.ts';
import { deferStack } from '../support/cleanup.ts';
import { waitFor } from '../support/wait-for.ts';

const BASE = '/_palisade/admin/v1/appservices';

test('admins add, change, list and remove appservice registrations at runtime; refusals change nothing', async (t) => {
  const fromFile = makeRegistration('filed');
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([fromFile]) });
  t.after(() => server.stop());
  const admin = await registerUser(server.url, 'root', { admin: true });
  const alice = await registerUser(server.url, 'alice');
  const call = (method: string, path: string, body?: unknown, token = admin.accessToken) => request(server.url, method, path, { token, body });
  const whoami = (token: string) => request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token });
  const rows = async () => (await server.app.db.selectFrom('appservice_registrations').select('appservice_id').execute()).map((row) => row.appservice_id);

  const added = makeRegistration('added', { url: 'http://127.0.0.1:9/' });
  const created = await call('PUT', `${BASE}/added`, added);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await whoami(added.as_token)).body.user_id, '@added_bot:localhost', 'in force at once, sender created');
  const changed = await call('PUT', `${BASE}/added`, { ...added, url: 'http://127.0.0.1:10/' });
  assert.equal(changed.status, 200);
  const listed = await call('GET', BASE);
  assert.deepEqual(listed.body.appservices.map((entry: { id: string; source: string; url: string }) => [entry.id, entry.source, entry.url]), [
    ['filed', 'file', null],
    ['added', 'admin_api', 'http://127.0.0.1:10/'],
  ]);
  assert.ok(!JSON.stringify(listed.body).includes(added.as_token) && !JSON.stringify(listed.body).includes(added.hs_token), 'no tokens are shown');

  const refusals: Array<[string, string, unknown, string | undefined, number, string]> = [
    ['PUT', `${BASE}/other`, makeRegistration('other'), alice.accessToken, 403, 'M_FORBIDDEN'],
    ['PUT', `${BASE}/other`, makeRegistration('mismatch'), undefined, 400, 'M_INVALID_PARAM'],
    ['PUT', `${BASE}/filed`, makeRegistration('filed'), undefined, 403, 'M_FORBIDDEN'],
    ['PUT', `${BASE}/clash`, makeRegistration('clash', { namespaces: { users: [{ regex: '@filed_.*:localhost', exclusive: true }] } }), undefined, 400, 'M_INVALID_PARAM'],
    ['PUT', `${BASE}/tokenless`, { id: 'tokenless', url: null, sender_localpart: 'x' }, undefined, 400, 'M_BAD_JSON'],
    ['DELETE', `${BASE}/filed`, undefined, undefined, 403, 'M_FORBIDDEN'],
    ['DELETE', `${BASE}/nobody`, undefined, undefined, 404, 'M_NOT_FOUND'],
    ['GET', BASE, undefined, alice.accessToken, 403, 'M_FORBIDDEN'],
  ];
  for (const [method, path, body, token, status, errcode] of refusals) {
    await assertRefusal(await call(method, path, body, token), { status, errcode, method, path, checkSpec: false });
  }
  assert.deepEqual(await rows(), ['added'], 'nothing else was stored');
  assert.deepEqual(server.app.appservices.all().map((registration) => registration.id), ['filed', 'added']);

  assert.equal((await call('DELETE', `${BASE}/added`)).status, 200);
  assert.equal((await whoami(added.as_token)).status, 401, 'its token no longer works');
  assert.deepEqual(await rows(), []);
});

test('a registration added on one API process is in force on another (Redis)', async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const redis = redisConfig(redisUrl);
  const defer = deferStack(t);
  const first = await startTestServer({ ...redis });
  defer(() => first.stop());
  const second = await startHomeserver(
    loadConfig({
      values: { server_name: 'localhost', data_dir: first.dataDir, listeners: [{ port: 0, bind_addresses: ['127.0.0.1'], type: 'http' }], registration_shared_secret: 'test-shared-secret', ...redis },
      env: { DATABASE_URL: first.databaseUrl },
    }),
    createLogger('silent'),
  );
  defer(() => second.stop());
  const admin = await registerUser(first.url, 'root', { admin: true });
  const added = makeRegistration('spread');
  assert.equal((await request(first.url, 'PUT', `${BASE}/spread`, { token: admin.accessToken, body: added })).status, 201);
  const onSecond = await waitFor('the second process to know it', async () => {
    const result = await request(second.urls[0], 'GET', '/_matrix/client/v3/account/whoami', { token: added.as_token });
    return result.status === 200 ? result.body : undefined;
  });
  assert.equal(onSecond.user_id, '@spread_bot:localhost');
  assert.equal((await request(first.url, 'DELETE', `${BASE}/spread`, { token: admin.accessToken })).status, 200);
  await waitFor('the second process to forget it', async () =>
    (await request(second.urls[0], 'GET', '/_matrix/client/v3/account/whoami', { token: added.as_token })).status === 401 ? true : undefined,
  );
});
