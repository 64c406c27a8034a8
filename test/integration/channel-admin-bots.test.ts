import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';
import { roomPost, roomSnapshot } from '../support/rooms.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';

let server: TestServer;
let root: TestUser;
let alice: TestUser;
const feeds = makeRegistration('feeds');
const relay = makeRegistration('relay', { 'io.palisade.supports_encryption': true });
const API = '/_palisade/admin/v1';

before(async () => {
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([feeds, relay]) });
  root = await registerUser(server.url, 'root', { admin: true });
  alice = await registerUser(server.url, 'alice');
  for (const [registration, localpart] of [[feeds, 'feeds_rss'], [relay, 'relay_one']] as const) {
    const registered = await request(server.url, 'POST', '/_matrix/client/v3/register', { token: registration.as_token, body: { type: 'm.login.application_service', username: localpart, inhibit_login: true } });
    assert.equal(registered.status, 200);
  }
});
after(() => server.stop());

async function admin(user: TestUser, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const result = await request(server.url, method, `${API}${path}`, { token: user.accessToken, body });
  await assertMatchesAdminApi({ method, path: `${API}${path}`, status: result.status, body: result.body });
  return result;
}
const bots = (roomId: string) => `/channels/${encodeURIComponent(roomId)}/bots`;
async function everything(roomId: string) {
  const row = await server.app.db.selectFrom('channel_policies').selectAll().where('room_id', '=', roomId).executeTakeFirst();
  const audit = await server.app.db.selectFrom('channel_audit').select('id').where('room_id', '=', roomId).execute();
  return { room: await roomSnapshot(server, roomId), row, audit: audit.length };
}
function expectError(result: HttpResult, status: number, errcode: string, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [status, errcode], JSON.stringify(result.body));
  if (mentions) assert.match(result.body.error, mentions);
}
async function channel(policy: Record<string, unknown>): Promise<string> {
  const created = await admin(root, 'POST', '/channels', { name: 'Bots', policy });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  return created.body.room_id;
}
const summary = (body: any) => body.bots.map((bot: any) => [bot.id, bot.supports_encryption, bot.allowed, bot.admissible, bot.present.map((entry: any) => entry.user_id)]);

test('bots are listed with whether each is allowed, admissible (encryption support) and present', async () => {
  const encrypted = await channel({ allowed_bots: null });
  const listed = await admin(root, 'GET', bots(encrypted));
  assert.equal(listed.status, 200);
  assert.equal(listed.body.allowed_bots, null);
  assert.deepEqual(summary(listed.body), [['feeds', false, true, false, []], ['relay', true, true, true, []]]);

  const open = await channel({ encryption: 'off', allowed_bots: ['feeds'] });
  assert.equal((await roomPost(server, root, open, 'invite', { user_id: '@feeds_rss:localhost' })).status, 200);
  assert.deepEqual(summary((await admin(root, 'GET', bots(open))).body), [['feeds', false, true, true, ['@feeds_rss:localhost']], ['relay', true, false, false, []]]);

  expectError(await admin(alice, 'GET', bots(open)), 403, 'M_FORBIDDEN');
  expectError(await admin(root, 'GET', bots('!nowhere:localhost')), 404, 'M_NOT_FOUND');
});

test('allowing and forbidding a bot edits allowed_bots through the policy change, audited; a present bot cannot be forbidden', async () => {
  const roomId = await channel({ encryption: 'off' });
  expectError(await roomPost(server, root, roomId, 'invite', { user_id: '@relay_one:localhost' }), 403, 'M_FORBIDDEN', /bot policy/);
  const allowed = await admin(root, 'PUT', `${bots(roomId)}/relay`);
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  assert.deepEqual(allowed.body.policy.allowed_bots, ['relay']);
  assert.deepEqual((await admin(root, 'PUT', `${bots(roomId)}/relay`)).body.policy.allowed_bots, ['relay'], 'allowing twice changes nothing');
  assert.equal((await roomPost(server, root, roomId, 'invite', { user_id: '@relay_one:localhost' })).status, 200, 'now admitted');

  let before = await everything(roomId);
  expectError(await admin(root, 'DELETE', `${bots(roomId)}/relay`), 403, 'M_FORBIDDEN', /@relay_one:localhost.*remove them first/);
  expectError(await admin(root, 'PUT', `${bots(roomId)}/nosuch`), 404, 'M_NOT_FOUND', /nosuch/);
  expectError(await admin(alice, 'PUT', `${bots(roomId)}/feeds`), 403, 'M_FORBIDDEN');
  assert.deepEqual(await everything(roomId), before);

  assert.equal((await roomPost(server, root, roomId, 'kick', { user_id: '@relay_one:localhost' })).status, 200);
  const forbidden = await admin(root, 'DELETE', `${bots(roomId)}/relay`);
  assert.deepEqual([forbidden.status, forbidden.body.policy.allowed_bots], [200, []]);
  const actions = (await admin(root, 'GET', `/channels/${encodeURIComponent(roomId)}/audit?limit=3`)).body.entries.map((entry: any) => [entry.action, entry.after.allowed_bots]);
  assert.deepEqual(actions.slice(0, 2), [['bot.forbid', []], ['bot.allow', ['relay']]]);
});

test('forbidding one bot in a channel that admitted any makes the list every other registered appservice', async () => {
  const roomId = await channel({ encryption: 'off', allowed_bots: null });
  const forbidden = await admin(root, 'DELETE', `${bots(roomId)}/feeds`);
  assert.deepEqual([forbidden.status, forbidden.body.policy.allowed_bots], [200, ['relay']]);
  expectError(await roomPost(server, root, roomId, 'invite', { user_id: '@feeds_rss:localhost' }), 403, 'M_FORBIDDEN', /bot policy/);
  // Allowing a bot while any is admitted leaves null alone.
  const anyRoom = await channel({ encryption: 'off', allowed_bots: null });
  assert.equal((await admin(root, 'PUT', `${bots(anyRoom)}/feeds`)).body.policy.allowed_bots, null);
});
