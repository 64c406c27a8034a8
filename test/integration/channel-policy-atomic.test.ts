import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';
import { createRoom, roomGet, roomPost, roomSnapshot } from '../support/rooms.ts';

let server: TestServer;
let owner: TestUser;
let admin: TestUser;
const API = '/_palisade/admin/v1';

before(async () => {
  server = await startTestServer();
  owner = await registerUser(server.url, 'owner');
  admin = await registerUser(server.url, 'admin');
});
after(() => server.stop());

test('a policy change is all or nothing: when the room refuses one of its events, none of the others is applied', async () => {
  // A room whose owner sits above the channel admins and keeps retention to themselves.
  const roomId = await createRoom(server, owner, {
    preset: 'private_chat',
    invite: [admin.userId],
    power_level_content_override: { users: { [owner.userId]: 150, [admin.userId]: 100 }, events: { 'm.room.retention': 150 } },
  });
  assert.equal((await roomPost(server, admin, roomId, 'join')).status, 200);
  const before = { room: await roomSnapshot(server, roomId), policies: await server.app.db.selectFrom('channel_policies').selectAll().execute(), audit: await server.app.db.selectFrom('channel_audit').selectAll().execute() };

  // join_rules and preview_urls (level 100) would pass; retention (150) is refused by the room's rules.
  const path = `${API}/channels/${encodeURIComponent(roomId)}/policy`;
  const refused = await request(server.url, 'PUT', path, { token: admin.accessToken, body: { joining: 'open', link_previews: true, retention_max_age_ms: 3_600_000 } });
  await assertMatchesAdminApi({ method: 'PUT', path, status: refused.status, body: refused.body });
  assert.deepEqual([refused.status, refused.body.errcode], [403, 'M_FORBIDDEN'], JSON.stringify(refused.body));
  assert.match(refused.body.error, /room's rules/);
  assert.deepEqual(
    { room: await roomSnapshot(server, roomId), policies: await server.app.db.selectFrom('channel_policies').selectAll().execute(), audit: await server.app.db.selectFrom('channel_audit').selectAll().execute() },
    before,
    'no event, row or audit entry of the refused change remains',
  );
  assert.equal((await roomGet(server, admin, roomId, 'state/m.room.join_rules/')).body.join_rule, 'invite');

  // Without the refused part, the same change goes through whole, and the room still takes messages.
  const accepted = await request(server.url, 'PUT', path, { token: admin.accessToken, body: { joining: 'open', link_previews: true } });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.deepEqual([accepted.body.policy.joining, accepted.body.policy.link_previews], ['open', true]);
  const sent = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, { token: owner.accessToken, body: { msgtype: 'm.text', body: 'still here' } });
  assert.equal(sent.status, 200);
});
