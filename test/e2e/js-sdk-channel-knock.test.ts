import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomMemberEvent, type MatrixClient } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { quietMatrixSdk, startSyncedClient } from '../support/js-sdk.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';

quietMatrixSdk();

let server: TestServer;
const clients: MatrixClient[] = [];
before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const client of clients) client.stopClient();
  await server.stop();
});

async function startedClient(user: TestUser): Promise<MatrixClient> {
  const client = await startSyncedClient(server.url, user);
  clients.push(client);
  return client;
}

/** Resolves when `client` sees `userId` reach `membership` in `roomId` through sync. */
function seesMembership(client: MatrixClient, roomId: string, userId: string, membership: string): Promise<void> {
  return new Promise((resolve) => {
    const onMembership = (_event: unknown, member: { roomId: string; userId: string; membership?: string }) => {
      if (member.roomId !== roomId || member.userId !== userId || member.membership !== membership) return;
      client.off(RoomMemberEvent.Membership, onMembership);
      resolve();
    };
    client.on(RoomMemberEvent.Membership, onMembership);
  });
}

test('request to join with matrix-js-sdk: the knock is pending for the channel admin, who approves it, and the requester joins', async () => {
  const rootUser = await registerUser(server.url, 'root', { admin: true });
  const bobUser = await registerUser(server.url, 'bob');
  const adminApi = async (method: string, path: string, body?: unknown) => {
    const result = await request(server.url, method, `/_palisade/admin/v1${path}`, { token: rootUser.accessToken, body });
    await assertMatchesAdminApi({ method, path: `/_palisade/admin/v1${path}`, status: result.status, body: result.body });
    return result;
  };
  const created = await adminApi('POST', '/channels', { name: 'Engineering', alias_localpart: 'engineering', policy: { visibility: 'public', joining: 'knock' } });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id;

  const root = await startedClient(rootUser);
  const bob = await startedClient(bobUser);
  const rootSeesKnock = seesMembership(root, roomId, bobUser.userId, 'knock');
  await bob.knockRoom('#engineering:localhost', { reason: 'I work on the build' });
  await rootSeesKnock;

  const pending = await adminApi('GET', `/channels/${encodeURIComponent(roomId)}/join_requests`);
  assert.deepEqual(pending.body.join_requests.map((entry: any) => [entry.user_id, entry.reason]), [[bobUser.userId, 'I work on the build']]);

  const bobInvited = seesMembership(bob, roomId, bobUser.userId, 'invite');
  const approved = await adminApi('POST', `/channels/${encodeURIComponent(roomId)}/join_requests/${encodeURIComponent(bobUser.userId)}/approve`, {});
  assert.equal(approved.status, 200);
  await bobInvited;

  const rootSeesJoin = seesMembership(root, roomId, bobUser.userId, 'join');
  const bobSeesJoin = seesMembership(bob, roomId, bobUser.userId, 'join');
  await bob.joinRoom(roomId);
  await Promise.all([rootSeesJoin, bobSeesJoin]);
  assert.equal((await adminApi('GET', `/channels/${encodeURIComponent(roomId)}`)).body.joined_members, 2);
  assert.deepEqual((await adminApi('GET', `/channels/${encodeURIComponent(roomId)}/join_requests`)).body.join_requests, []);
});
