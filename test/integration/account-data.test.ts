import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomGet, roomPost, say, syncOnce } from '../support/rooms.ts';
import { accountDataPath, putAccountData, userDataSnapshot, userRequest } from '../support/user-data.ts';
import { assertEventMatchesSpec } from '../support/spec-schema.ts';
import { waitFor } from '../support/wait-for.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
});
after(() => server.stop());

const bodies = (events: any[]) => events.filter((event) => event.type === 'm.room.message').map((event) => event.content.body);

test('global and per-room account data: set, read back, and delivered by sync', async () => {
  const roomId = await createRoom(server, alice);
  await putAccountData(server, alice, 'org.example.settings', { theme: 'dark' });
  await putAccountData(server, alice, 'm.tag', { tags: { 'm.favourite': { order: 0.5 } } }, roomId);

  const global = await userRequest(server, alice, 'GET', accountDataPath(alice.userId, 'org.example.settings'));
  assert.deepEqual(global.body, { theme: 'dark' });
  const perRoom = await userRequest(server, alice, 'GET', accountDataPath(alice.userId, 'm.tag', roomId));
  assert.deepEqual(perRoom.body, { tags: { 'm.favourite': { order: 0.5 } } });
  const globalIsNotRoom = await userRequest(server, alice, 'GET', accountDataPath(alice.userId, 'm.tag'));
  await assertRefusal(globalIsNotRoom, { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: accountDataPath(alice.userId, 'm.tag') });

  const initial = await syncOnce(server, alice);
  const own = (events: any[]) => events.filter((event) => event.type !== 'm.push_rules');
  assert.deepEqual(own(initial.account_data.events), [{ type: 'org.example.settings', content: { theme: 'dark' } }], 'and m.push_rules, which every initial sync carries');
  const tagEvent = initial.rooms.join[roomId].account_data.events.find((event: any) => event.type === 'm.tag');
  assert.deepEqual(tagEvent.content, { tags: { 'm.favourite': { order: 0.5 } } });
  await assertEventMatchesSpec(tagEvent);

  // Incremental: only what changed, each type at its latest content; the room appears for its account data alone.
  await putAccountData(server, alice, 'org.example.settings', { theme: 'light' });
  await putAccountData(server, alice, 'org.example.settings', { theme: 'blue' });
  await putAccountData(server, alice, 'org.example.room', { pinned: true }, roomId);
  const next = await syncOnce(server, alice, { since: initial.next_batch });
  assert.deepEqual(next.account_data.events, [{ type: 'org.example.settings', content: { theme: 'blue' } }]);
  assert.deepEqual(next.rooms.join[roomId].account_data.events, [{ type: 'org.example.room', content: { pinned: true } }]);
  assert.deepEqual(next.rooms.join[roomId].timeline.events, [], 'no new events in the room');

  // Filters: account_data and room.account_data types (with wildcards).
  const filtered = await syncOnce(server, alice, { filter: JSON.stringify({ account_data: { not_types: ['org.example.*', 'm.push_rules'] }, room: { account_data: { types: ['m.tag'] } } }) });
  assert.equal(filtered.account_data, undefined, 'every global type is filtered out');
  assert.deepEqual(filtered.rooms.join[roomId].account_data.events.map((event: any) => event.type), ['m.tag']);

  const quiet = await syncOnce(server, alice, { since: next.next_batch });
  assert.equal(quiet.account_data, undefined, 'nothing repeated');
  assert.deepEqual(quiet.rooms.join, {});

  // Another user never sees alice's data.
  const bobSync = await syncOnce(server, bob);
  assert.deepEqual(bobSync.account_data.events.map((event: any) => event.type), ['m.push_rules'], 'only his own (default) push rules');
});

test('a long-polling sync wakes when account data changes on another device', async () => {
  const start = await syncOnce(server, carol);
  const path = `/_matrix/client/v3/sync?since=${start.next_batch}&timeout=30000`;
  const polling = request(server.url, 'GET', path, { token: carol.accessToken });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(carol.userId) > 0 ? true : undefined));
  await putAccountData(server, carol, 'org.example.wake', { now: 1 });
  const woken = await polling;
  assert.equal(woken.status, 200);
  assert.deepEqual(woken.body.account_data.events, [{ type: 'org.example.wake', content: { now: 1 } }]);
});

test('refusals: another user’s data, server-controlled types, oversize and non-object content change nothing', async () => {
  const roomId = await createRoom(server, alice);
  await putAccountData(server, bob, 'org.example.secret', { x: 1 });
  const before = await userDataSnapshot(server);
  const cases: Array<{ user: TestUser; method: string; path: string; body?: unknown; status: number; errcode: string; checkSpec?: boolean }> = [
    { user: alice, method: 'PUT', path: accountDataPath(bob.userId, 'org.example.secret'), body: { x: 2 }, status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'GET', path: accountDataPath(bob.userId, 'org.example.secret'), status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'PUT', path: accountDataPath(bob.userId, 'm.tag', roomId), body: {}, status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'GET', path: accountDataPath(bob.userId, 'm.tag', roomId), status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'PUT', path: accountDataPath(alice.userId, 'm.push_rules'), body: {}, status: 405, errcode: 'M_BAD_JSON' },
    { user: alice, method: 'PUT', path: accountDataPath(alice.userId, 'm.fully_read', roomId), body: { event_id: '$x' }, status: 405, errcode: 'M_BAD_JSON' },
    { user: alice, method: 'PUT', path: accountDataPath(alice.userId, 'org.example.big'), body: { blob: 'x'.repeat(300 * 1024) }, status: 413, errcode: 'M_TOO_LARGE', checkSpec: false },
    { user: alice, method: 'PUT', path: accountDataPath(alice.userId, 'org.example.list'), body: [1, 2], status: 400, errcode: 'M_BAD_JSON' },
    { user: alice, method: 'PUT', path: accountDataPath(alice.userId, 'm.ignored_user_list'), body: { ignored_users: { [alice.userId]: {} } }, status: 400, errcode: 'M_INVALID_PARAM', checkSpec: false },
    { user: alice, method: 'PUT', path: accountDataPath(alice.userId, 'm.ignored_user_list'), body: { ignored_users: ['@bob:localhost'] }, status: 400, errcode: 'M_BAD_JSON' },
    { user: alice, method: 'GET', path: accountDataPath(alice.userId, 'org.example.never'), status: 404, errcode: 'M_NOT_FOUND' },
  ];
  for (const refusal of cases) {
    const result = await request(server.url, refusal.method, refusal.path, { token: refusal.user.accessToken, body: refusal.body });
    await assertRefusal(result, refusal);
  }
  assert.deepEqual(await userDataSnapshot(server), before);
});

test('m.ignored_user_list: ignored users’ messages are left out of sync and /messages, their invites dropped', async () => {
  const dana = await registerUser(server.url, 'dana');
  const eve = await registerUser(server.url, 'eve');
  const roomId = await createRoom(server, dana, { preset: 'public_chat' });
  await roomPost(server, eve, roomId, 'join');
  await say(server, eve, roomId, 'before ignoring');
  await putAccountData(server, dana, 'm.ignored_user_list', { ignored_users: { [eve.userId]: {} } });
  const start = await syncOnce(server, dana);
  assert.deepEqual(bodies(start.rooms.join[roomId].timeline.events), [], 'eve’s message is hidden');
  assert.ok(start.rooms.join[roomId].timeline.events.some((event: any) => event.type === 'm.room.member' && event.state_key === eve.userId), 'her join (state) still shows');
  assert.deepEqual(start.account_data.events.find((event: any) => event.type === 'm.ignored_user_list').content, { ignored_users: { [eve.userId]: {} } });

  await say(server, eve, roomId, 'ignored');
  await say(server, dana, roomId, 'seen');
  const next = await syncOnce(server, dana, { since: start.next_batch });
  assert.deepEqual(bodies(next.rooms.join[roomId].timeline.events), ['seen']);
  const page = await roomGet(server, dana, roomId, 'messages?dir=b&limit=20');
  assert.deepEqual(bodies(page.body.chunk), ['seen']);
  const eveSees = await roomGet(server, eve, roomId, 'messages?dir=b&limit=20');
  assert.deepEqual(bodies(eveSees.body.chunk), ['seen', 'ignored', 'before ignoring'], 'others are unaffected');

  const eveRoom = await createRoom(server, eve);
  const invite = await roomPost(server, eve, eveRoom, 'invite', { user_id: dana.userId });
  assert.equal(invite.status, 200);
  const afterInvite = await syncOnce(server, dana, { since: next.next_batch });
  assert.equal(afterInvite.rooms.invite[eveRoom], undefined, 'the invite from an ignored user is dropped');

  await putAccountData(server, dana, 'm.ignored_user_list', { ignored_users: {} });
  const again = await roomGet(server, dana, roomId, 'messages?dir=b&limit=20');
  assert.deepEqual(bodies(again.body.chunk), ['seen', 'ignored', 'before ignoring'], 'un-ignoring shows the history again');
});

test('room tags: set, list, remove one at a time, delivered as m.tag; only one’s own, within limits', async () => {
  const roomId = await createRoom(server, carol);
  const tagsPath = (user: TestUser, tag?: string) => `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/rooms/${encodeURIComponent(roomId)}/tags${tag ? `/${encodeURIComponent(tag)}` : ''}`;
  const start = await syncOnce(server, carol);
  assert.deepEqual((await userRequest(server, carol, 'GET', tagsPath(carol))).body, { tags: {} });
  assert.equal((await userRequest(server, carol, 'PUT', tagsPath(carol, 'm.favourite'), { order: 0.25 })).status, 200);
  assert.equal((await userRequest(server, carol, 'PUT', tagsPath(carol, 'u.work'), {})).status, 200);
  assert.deepEqual((await userRequest(server, carol, 'GET', tagsPath(carol))).body, { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
  const next = await syncOnce(server, carol, { since: start.next_batch });
  const tagEvent = next.rooms.join[roomId].account_data.events.find((event: any) => event.type === 'm.tag');
  assert.deepEqual(tagEvent.content, { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
  await assertEventMatchesSpec(tagEvent);

  assert.equal((await userRequest(server, carol, 'DELETE', tagsPath(carol, 'u.work'))).status, 200);
  assert.equal((await userRequest(server, carol, 'DELETE', tagsPath(carol, 'u.never'))).status, 200, 'removing an absent tag succeeds');
  assert.deepEqual((await userRequest(server, carol, 'GET', tagsPath(carol))).body, { tags: { 'm.favourite': { order: 0.25 } } });

  const before = await userDataSnapshot(server);
  const refusals = [
    { user: alice, method: 'GET', path: tagsPath(carol), status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'PUT', path: tagsPath(carol, 'u.spy'), body: {}, status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'DELETE', path: tagsPath(carol, 'm.favourite'), status: 403, errcode: 'M_FORBIDDEN' },
    { user: carol, method: 'PUT', path: tagsPath(carol, 'u.order'), body: { order: 2 }, status: 400, errcode: 'M_BAD_JSON' },
    { user: carol, method: 'PUT', path: tagsPath(carol, `u.${'x'.repeat(300)}`), body: {}, status: 413, errcode: 'M_TOO_LARGE' },
  ];
  for (const refusal of refusals) {
    const result = await request(server.url, refusal.method, refusal.path, { token: refusal.user.accessToken, body: refusal.body });
    await assertRefusal(result, { ...refusal, checkSpec: false });
  }
  assert.deepEqual(await userDataSnapshot(server), before);
});
