import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost, syncOnce } from '../support/rooms.ts';
import { assertEventMatchesSpec } from '../support/spec-schema.ts';
import { userDataSnapshot, userRequest } from '../support/user-data.ts';
import { sweepIdlePresence } from '../../server/accounts/presence.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
});
after(() => server.stop());

const statusPath = (userId: string) => `/_matrix/client/v3/presence/${encodeURIComponent(userId)}/status`;
const presenceOf = (body: any, userId: string) => body.presence?.events.find((event: any) => event.sender === userId);

test('set and read presence; users sharing a room see it in sync with last_active_ago, others do not', async () => {
  const bobStart = await syncOnce(server, bob, { set_presence: 'offline' });
  const carolStart = await syncOnce(server, carol, { set_presence: 'offline' });
  assert.equal((await userRequest(server, alice, 'PUT', statusPath(alice.userId), { presence: 'online', status_msg: 'Writing tests' })).status, 200);

  const own = await userRequest(server, alice, 'GET', statusPath(alice.userId));
  assert.equal(own.body.presence, 'online');
  assert.equal(own.body.status_msg, 'Writing tests');
  assert.equal(typeof own.body.last_active_ago, 'number');
  assert.equal(own.body.currently_active, true);
  const peer = await userRequest(server, bob, 'GET', statusPath(alice.userId));
  assert.equal(peer.body.presence, 'online');

  const bobSees = await syncOnce(server, bob, { since: bobStart.next_batch, set_presence: 'offline' });
  const event = presenceOf(bobSees, alice.userId);
  assert.equal(event.content.presence, 'online');
  assert.equal(event.content.status_msg, 'Writing tests');
  assert.equal(typeof event.content.last_active_ago, 'number');
  await assertEventMatchesSpec(event);
  const carolSees = await syncOnce(server, carol, { since: carolStart.next_batch, set_presence: 'offline' });
  assert.equal(presenceOf(carolSees, alice.userId), undefined, 'carol shares no room with alice');
  const hidden = await request(server.url, 'GET', statusPath(alice.userId), { token: carol.accessToken });
  await assertRefusal(hidden, { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path: statusPath(alice.userId) });

  const filtered = await syncOnce(server, bob, { filter: JSON.stringify({ presence: { types: [] } }), set_presence: 'offline' });
  assert.equal(filtered.presence, undefined, 'a filter can turn presence off');
});

test('set_presence on /sync: online by default, unavailable on request, offline leaves it alone; idle users go offline', async () => {
  const dana = await registerUser(server.url, 'dana');
  const roomId = await createRoom(server, dana, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await syncOnce(server, dana, { set_presence: 'offline' });
  assert.equal((await userRequest(server, bob, 'GET', statusPath(dana.userId))).body.presence, 'offline', 'never online yet');

  const bobStart = await syncOnce(server, bob, { set_presence: 'offline' });
  // bob's long-poll wakes when dana comes online through her own sync.
  const polling = syncOnce(server, bob, { since: bobStart.next_batch, timeout: '30000', set_presence: 'offline' });
  await syncOnce(server, dana);
  const woken = await polling;
  assert.equal(presenceOf(woken, dana.userId)?.content.presence, 'online');

  await syncOnce(server, dana, { set_presence: 'unavailable' });
  assert.equal((await userRequest(server, bob, 'GET', statusPath(dana.userId))).body.presence, 'unavailable');
  await syncOnce(server, dana, { set_presence: 'offline' });
  assert.equal((await userRequest(server, bob, 'GET', statusPath(dana.userId))).body.presence, 'unavailable');

  await syncOnce(server, dana);
  const beforeSweep = await syncOnce(server, bob, { set_presence: 'offline' });
  // The sweep with a cut-off in the future treats everyone as idle, as five quiet minutes would.
  await sweepIdlePresence(server.app, Date.now() + 1);
  const afterSweep = await syncOnce(server, bob, { since: beforeSweep.next_batch, set_presence: 'offline' });
  assert.equal(presenceOf(afterSweep, dana.userId)?.content.presence, 'offline');
  assert.equal((await userRequest(server, dana, 'GET', statusPath(dana.userId))).body.presence, 'offline');
});

test('refusals: someone else’s presence, bad states, long status messages, unknown users change nothing', async () => {
  const before = await userDataSnapshot(server);
  const cases = [
    { user: bob, method: 'PUT', path: statusPath(alice.userId), body: { presence: 'offline' }, status: 403, errcode: 'M_FORBIDDEN' },
    { user: bob, method: 'PUT', path: statusPath(bob.userId), body: { presence: 'busy' }, status: 400, errcode: 'M_BAD_JSON' },
    { user: bob, method: 'PUT', path: statusPath(bob.userId), body: { status_msg: 'no state' }, status: 400, errcode: 'M_MISSING_PARAM' },
    { user: bob, method: 'PUT', path: statusPath(bob.userId), body: { presence: 'online', status_msg: 'x'.repeat(513) }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, method: 'GET', path: statusPath('@nobody:localhost'), status: 404, errcode: 'M_NOT_FOUND' },
  ];
  for (const refusal of cases) {
    const result = await request(server.url, refusal.method, refusal.path, { token: refusal.user.accessToken, body: refusal.body });
    await assertRefusal(result, { ...refusal, checkSpec: refusal.method === 'GET' });
  }
  assert.deepEqual(await userDataSnapshot(server), before);
});
