import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, putState, roomPost, say } from '../support/rooms.ts';
import { waitFor } from '../support/wait-for.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { assertSlidingSyncResponse, type SlidingSyncResponse } from '../support/sliding-sync-schema.ts';
import { MAX_SLIDING_TIMELINE_LIMIT } from '../../server/sliding-sync/request.ts';
import { MAX_CONNECTIONS_PER_DEVICE } from '../../server/sliding-sync/connection-state.ts';
import type { SlidingSyncConnectionsTable } from '../../server/storage/tables/sliding-sync.ts';
import { assertTableColumns } from '../support/table-columns.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

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

function post(user: TestUser, body: Record<string, unknown>, query: Record<string, string> = {}) {
  const search = new URLSearchParams(query).toString();
  return request(server.url, 'POST', `${PATH}${search ? `?${search}` : ''}`, { token: user.accessToken, body });
}

/** One sliding sync request that must succeed; its response is checked against the MSC4186 schema. */
async function slide(user: TestUser, body: Record<string, unknown>, query: Record<string, string> = {}): Promise<SlidingSyncResponse> {
  const result = await post(user, body, query);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return assertSlidingSyncResponse(result.body);
}

const ALL_STATE = [['*', '*']];
const list = (range: [number, number], extra: Record<string, unknown> = {}) => ({ ranges: [range], timeline_limit: 1, required_state: [['m.room.name', '']], ...extra });
const bodies = (room: { timeline?: Array<{ content: Record<string, unknown> }> } | undefined) => (room?.timeline ?? []).map((event) => event.content.body);
const join = async (user: TestUser, roomId: string) => assert.equal((await roomPost(server, user, roomId, 'join')).status, 200);

test('the migrated connections table has exactly the columns its table type declares', async () => {
  const columns = { user_id: 1, device_id: 1, conn_id: 1, base_pos: 1, base_state: 1, latest_pos: 1, latest_state: 1, updated_ts: 1 } satisfies Record<keyof SlidingSyncConnectionsTable, 1>;
  await assertTableColumns(server.app.db, { sliding_sync_connections: columns });
});

test('connections are kept per conn_id, at most a bounded number per device, and go with the device', async () => {
  const user = await registerUser(server.url, 'connector');
  const first = await slide(user, { conn_id: 'a' });
  await slide(user, { conn_id: 'b' });
  const second = await slide(user, { conn_id: 'a' }, { pos: first.pos, timeout: '0' });
  const third = await slide(user, { conn_id: 'a' }, { pos: second.pos, timeout: '0' });
  // Each conn_id has its own positions: a's latest pos is unknown to b.
  assert.equal((await post(user, { conn_id: 'b' }, { pos: third.pos })).body.errcode, 'M_UNKNOWN_POS');
  for (let i = 0; i < MAX_CONNECTIONS_PER_DEVICE + 2; i++) await slide(user, { conn_id: `extra${i}` });
  const rows = () => server.app.db.selectFrom('sliding_sync_connections').select('conn_id').where('user_id', '=', user.userId).execute();
  assert.equal((await rows()).length, MAX_CONNECTIONS_PER_DEVICE);
  const deleted = await request(server.url, 'POST', '/_matrix/client/v3/logout', { token: user.accessToken, body: {} });
  assert.equal(deleted.status, 200);
  assert.deepEqual(await rows(), [], "logging out deletes the device and its connections");
});

test('/versions advertises simplified sliding sync', async () => {
  const versions = await request(server.url, 'GET', '/_matrix/client/versions');
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/versions', status: 200, body: versions.body });
  assert.equal(versions.body.unstable_features['org.matrix.simplified_msc3575'], true);
});

test('a list orders rooms by recency, counts them, and a new message moves a room to the top', async () => {
  const user = await registerUser(server.url, 'lister');
  const rooms: string[] = [];
  for (const name of ['one', 'two', 'three']) {
    const roomId = await createRoom(server, user, { name });
    await say(server, user, roomId, `hello ${name}`);
    rooms.push(roomId);
  }
  const first = await slide(user, { conn_id: 'main', lists: { all: list([0, 1]) } });
  assert.deepEqual(first.lists, { all: { count: 3 } });
  assert.deepEqual(Object.keys(first.rooms ?? {}).sort(), [rooms[2], rooms[1]].sort(), 'the two most recent rooms, inside the range');
  const top = first.rooms![rooms[2]];
  assert.equal(top.initial, true);
  assert.equal(top.name, 'three');
  assert.equal(top.membership, 'join');
  assert.deepEqual(bodies(top), ['hello three']);
  assert.equal(top.limited, true, 'timeline_limit 1 cuts the room history');
  assert.equal(top.joined_count, 1);
  assert.ok(top.bump_stamp! > first.rooms![rooms[1]].bump_stamp!, 'bump_stamp follows recency');
  assert.deepEqual(top.required_state?.map((event) => event.type), ['m.room.name']);

  // Nothing changed: an incremental request with timeout 0 answers with no rooms.
  const quiet = await slide(user, { conn_id: 'main', lists: { all: list([0, 1]) } }, { pos: first.pos, timeout: '0' });
  assert.deepEqual(quiet.rooms, {});

  // The oldest room gets a message: it enters the window (initial) and the room it pushes out is not sent.
  await say(server, user, rooms[0], 'back on top');
  const moved = await slide(user, { conn_id: 'main', lists: { all: list([0, 1]) } }, { pos: quiet.pos });
  assert.deepEqual(Object.keys(moved.rooms ?? {}), [rooms[0]]);
  assert.equal(moved.rooms![rooms[0]].initial, true);
  assert.deepEqual(bodies(moved.rooms![rooms[0]]), ['back on top']);
  assert.equal(moved.rooms![rooms[0]].num_live, 1, 'the message arrived since the previous request');

  // A room already sent gets only what is new, without `initial`.
  await say(server, user, rooms[2], 'more');
  const update = await slide(user, { conn_id: 'main', lists: { all: list([0, 1]) } }, { pos: moved.pos });
  const delta = update.rooms![rooms[2]];
  assert.equal(delta.initial, undefined);
  assert.deepEqual(bodies(delta), ['more']);
  assert.equal(delta.limited, false);
  assert.equal(delta.name, undefined, 'an unchanged name is not repeated');

  // Growing the range sends only rooms this connection has not sent: the one pushed out earlier is known and unchanged.
  const older = await createRoom(server, user, { name: 'four' });
  const grown = await slide(user, { conn_id: 'main', lists: { all: list([0, 9]) } }, { pos: update.pos });
  assert.deepEqual(grown.lists, { all: { count: 4 } });
  assert.deepEqual(Object.keys(grown.rooms ?? {}), [older]);

  // A profile change writes a member event into every room, but is not activity: the order stays.
  const stamp = grown.rooms![older].bump_stamp;
  const renamed = await request(server.url, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, { token: user.accessToken, body: { displayname: 'New Name' } });
  assert.equal(renamed.status, 200);
  const afterRename = await slide(user, { conn_id: 'main', lists: { all: list([0, 9]) } }, { pos: grown.pos });
  assert.equal(afterRename.rooms![older].bump_stamp, stamp);
  assert.equal(afterRename.rooms![older].timeline!.at(-1)!.type, 'm.room.member');
});

test('list filters: is_dm, is_encrypted, is_invite and room types', async () => {
  const user = await registerUser(server.url, 'filterer');
  const plain = await createRoom(server, user, { name: 'plain' });
  const encrypted = await createRoom(server, user, { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  const space = await createRoom(server, user, { creation_content: { type: 'm.space' } });
  const dm = await createRoom(server, user, { is_direct: true });
  await request(server.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/account_data/m.direct`, { token: user.accessToken, body: { [alice.userId]: [dm] } });
  const invitedTo = await createRoom(server, alice, {});
  await roomPost(server, alice, invitedTo, 'invite', { user_id: user.userId });
  const response = await slide(user, {
    lists: {
      dms: list([0, 9], { filters: { is_dm: true } }),
      encrypted: list([0, 9], { filters: { is_encrypted: true } }),
      invites: list([0, 9], { filters: { is_invite: true } }),
      spaces: list([0, 9], { filters: { room_types: ['m.space'] } }),
      rooms: list([0, 9], { filters: { not_room_types: ['m.space'], is_invite: false } }),
    },
  });
  assert.deepEqual(response.lists, { dms: { count: 1 }, encrypted: { count: 1 }, invites: { count: 1 }, spaces: { count: 1 }, rooms: { count: 3 } });
  assert.equal(response.rooms![dm].is_dm, true);
  assert.equal(response.rooms![plain].is_dm, undefined);
  assert.ok(response.rooms![encrypted] && response.rooms![space]);

  // m.direct changes: the rooms whose DM flag changed come down with just that.
  await request(server.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/account_data/m.direct`, { token: user.accessToken, body: { [alice.userId]: [plain] } });
  const changed = await slide(user, { lists: { all: list([0, 9]) } }, { pos: response.pos, timeout: '0' });
  assert.deepEqual(changed.rooms![plain], { is_dm: true });
  assert.deepEqual(changed.rooms![dm], { is_dm: false });
});

test('a room subscription delivers its timeline and required state, with $LAZY members only for timeline senders', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'lazy' });
  await join(bob, roomId);
  await join(carol, roomId);
  await say(server, carol, roomId, 'carol speaks first');
  await say(server, bob, roomId, 'bob speaks');
  await say(server, alice, roomId, 'alice answers');
  const response = await slide(alice, {
    conn_id: 'subs',
    room_subscriptions: { [roomId]: { timeline_limit: 2, required_state: [['m.room.member', '$LAZY'], ['*', '*']] } },
  });
  const room = response.rooms![roomId];
  assert.deepEqual(bodies(room), ['bob speaks', 'alice answers']);
  assert.equal(room.limited, true);
  const members = room.required_state!.filter((event) => event.type === 'm.room.member').map((event) => event.state_key).sort();
  assert.deepEqual(members, [alice.userId, bob.userId].sort(), 'only the senders of the timeline, not carol');
  const types = new Set(room.required_state!.map((event) => event.type));
  for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.name']) assert.ok(types.has(type), type);
  assert.equal(room.lists, undefined);

  // $ME and exact keys: only those events.
  const exact = await slide(alice, { room_subscriptions: { [roomId]: { timeline_limit: 0, required_state: [['m.room.member', '$ME'], ['m.room.create', '']] } } });
  assert.deepEqual(exact.rooms![roomId].required_state!.map((event) => `${event.type}|${event.state_key}`).sort(), ['m.room.create|', `m.room.member|${alice.userId}`]);
  assert.deepEqual(exact.rooms![roomId].timeline ?? [], [], 'timeline_limit 0 sends no events');
  assert.equal(exact.rooms![roomId].limited, true);

  // The MSC's object form of required_state.
  const objectForm = await slide(alice, { room_subscriptions: { [roomId]: { timeline_limit: 1, required_state: { include: [{}], exclude: [{ type: 'm.room.create', state_key: '' }], lazy_members: true } } } });
  const objectTypes = objectForm.rooms![roomId].required_state!.map((event) => `${event.type}|${event.state_key}`);
  assert.ok(!objectTypes.includes('m.room.create|'));
  assert.deepEqual(objectTypes.filter((entry) => entry.startsWith('m.room.member')), [`m.room.member|${alice.userId}`]);

  // A subscription to a room the user has no part in is ignored.
  const outsider = await registerUser(server.url, 'outsider');
  const denied = await slide(outsider, { room_subscriptions: { [roomId]: { timeline_limit: 5, required_state: ALL_STATE } } });
  assert.deepEqual(denied.rooms, {});
});

test('opening a room (a subscription with a wider config) resends it whole; closing it does not', async () => {
  const user = await registerUser(server.url, 'opener');
  const roomId = await createRoom(server, user, { name: 'open me' });
  for (let i = 0; i < 3; i++) await say(server, user, roomId, `m${i}`);
  const lists = { all: list([0, 9]) };
  const start = await slide(user, { lists });
  assert.deepEqual(bodies(start.rooms![roomId]), ['m2']);
  const opened = await slide(user, { lists, room_subscriptions: { [roomId]: { timeline_limit: 10, required_state: ALL_STATE } } }, { pos: start.pos, timeout: '0' });
  assert.equal(opened.rooms![roomId].initial, true);
  assert.deepEqual(bodies(opened.rooms![roomId]).filter(Boolean), ['m0', 'm1', 'm2']);
  const closed = await slide(user, { lists, unsubscribe_rooms: [roomId] }, { pos: opened.pos, timeout: '0' });
  assert.deepEqual(closed.rooms, {}, 'a narrower config sends nothing again');
  await say(server, user, roomId, 'm3');
  const next = await slide(user, { lists }, { pos: closed.pos, timeout: '0' });
  assert.equal(next.rooms![roomId].initial, undefined);
  assert.deepEqual(bodies(next.rooms![roomId]), ['m3']);
});

test('history visibility is honoured: a later joiner of a "joined" room sees nothing from before', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
  await say(server, alice, roomId, 'before dave');
  const dave = await registerUser(server.url, 'dave');
  await join(dave, roomId);
  await say(server, alice, roomId, 'after dave');
  const response = await slide(dave, { room_subscriptions: { [roomId]: { timeline_limit: 10, required_state: [] } } });
  const timeline = response.rooms![roomId].timeline!;
  assert.ok(!bodies(response.rooms![roomId]).includes('before dave'));
  assert.deepEqual(bodies(response.rooms![roomId]).filter(Boolean), ['after dave']);
  assert.ok(timeline.some((event) => event.type === 'm.room.member' && event.state_key === dave.userId));
});

test('an invite appears with invite_state; joining sends the room whole; leaving sends the leave', async () => {
  const user = await registerUser(server.url, 'invitee');
  const roomId = await createRoom(server, alice, { name: 'invited here' });
  await say(server, alice, roomId, 'secret before the invite');
  const start = await slide(user, { lists: { all: list([0, 9], { timeline_limit: 5 }) } });
  assert.deepEqual(start.rooms, {});
  await roomPost(server, alice, roomId, 'invite', { user_id: user.userId });
  const invited = await slide(user, { lists: { all: list([0, 9], { timeline_limit: 5 }) } }, { pos: start.pos });
  const invite = invited.rooms![roomId];
  assert.equal(invite.membership, 'invite');
  assert.equal(invite.timeline, undefined, 'an invitee sees no timeline');
  assert.ok(invite.invite_state!.some((event) => event.type === 'm.room.name' && event.content.name === 'invited here'));
  assert.ok(invite.invite_state!.some((event) => event.type === 'm.room.member' && event.state_key === user.userId));

  await join(user, roomId);
  const joined = await slide(user, { lists: { all: list([0, 9], { timeline_limit: 5 }) } }, { pos: invited.pos });
  assert.equal(joined.rooms![roomId].membership, 'join');
  assert.equal(joined.rooms![roomId].initial, true);
  assert.equal(joined.rooms![roomId].name, 'invited here');

  await roomPost(server, user, roomId, 'leave');
  await say(server, alice, roomId, 'after the leave');
  const left = await slide(user, { lists: { all: list([0, 9], { timeline_limit: 5 }) } }, { pos: joined.pos });
  const leftRoom = left.rooms![roomId];
  assert.equal(leftRoom.membership, 'leave');
  assert.ok(leftRoom.timeline!.some((event) => event.type === 'm.room.member' && event.content.membership === 'leave'));
  assert.ok(!bodies(leftRoom).includes('after the leave'), 'nothing after the leave');
  // A fresh connection does not list a room the user left themselves.
  const fresh = await slide(user, { lists: { all: list([0, 9]) } });
  assert.deepEqual(fresh.lists, { all: { count: 0 } });
});

test('a rejected invite comes down as a leave with stripped state only; a ban without a join is not listed', async () => {
  const user = await registerUser(server.url, 'rejecter');
  const roomId = await createRoom(server, alice, { name: 'not for you', topic: 'private topic' });
  await say(server, alice, roomId, 'members only');
  await roomPost(server, alice, roomId, 'invite', { user_id: user.userId });
  const invited = await slide(user, { lists: { all: list([0, 9], { required_state: ALL_STATE, timeline_limit: 10 }) } });
  assert.equal(invited.rooms![roomId].membership, 'invite');
  await roomPost(server, user, roomId, 'leave');
  const rejected = await slide(user, { lists: { all: list([0, 9], { required_state: ALL_STATE, timeline_limit: 10 }) } }, { pos: invited.pos });
  const room = rejected.rooms![roomId];
  assert.equal(room.membership, 'leave');
  assert.equal(room.timeline, undefined, 'no timeline for a room never joined');
  assert.equal(room.required_state, undefined, 'no state beyond the stripped state');
  assert.ok(room.invite_state!.some((event) => event.type === 'm.room.member' && event.state_key === user.userId && event.content.membership === 'leave'));

  const bannedRoom = await createRoom(server, alice, {});
  await roomPost(server, alice, bannedRoom, 'ban', { user_id: user.userId });
  const fresh = await slide(user, { lists: { all: list([0, 9]) } });
  assert.equal(fresh.rooms![bannedRoom], undefined);
});

test('a kicked user sees the room with membership leave even on a new connection', async () => {
  const user = await registerUser(server.url, 'kicked');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(user, roomId);
  await roomPost(server, alice, roomId, 'kick', { user_id: user.userId, reason: 'test' });
  const response = await slide(user, { lists: { all: list([0, 9]) } });
  assert.equal(response.rooms![roomId].membership, 'leave');
});

test('a long-poll wakes when a message arrives', async () => {
  const user = await registerUser(server.url, 'poller');
  const roomId = await createRoom(server, user, {});
  const start = await slide(user, { lists: { all: list([0, 9]) } });
  const polling = post(user, { lists: { all: list([0, 9]) } }, { pos: start.pos, timeout: '60000' });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(user.userId) === 1 ? true : undefined));
  await say(server, user, roomId, 'wake up');
  const woken = await polling;
  assert.equal(woken.status, 200);
  const body = await assertSlidingSyncResponse(woken.body);
  assert.deepEqual(bodies(body.rooms![roomId]), ['wake up']);
});

test('a request that replaces a parked long-poll wins; the replaced one saves nothing', async () => {
  const user = await registerUser(server.url, 'replacer');
  const roomId = await createRoom(server, user, {});
  const start = await slide(user, { lists: { all: list([0, 9]) } });
  const parked = post(user, { lists: { all: list([0, 9]) } }, { pos: start.pos, timeout: '60000' });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(user.userId) === 1 ? true : undefined));
  // The client cancels it (the server does not see that) and asks again with a bigger range.
  const replacing = await slide(user, { lists: { all: list([0, 19]) } }, { pos: start.pos, timeout: '0' });
  const replaced = await parked;
  assert.equal(replaced.status, 400);
  assert.equal(replaced.body.errcode, 'M_UNKNOWN_POS');
  await say(server, user, roomId, 'after the replacement');
  const next = await slide(user, { lists: { all: list([0, 19]) } }, { pos: replacing.pos });
  assert.deepEqual(bodies(next.rooms![roomId]), ['after the replacement']);
});

test('retrying with the previous pos works; older positions are M_UNKNOWN_POS', async () => {
  const user = await registerUser(server.url, 'retrier');
  const roomId = await createRoom(server, user, {});
  const first = await slide(user, { lists: { all: list([0, 9]) } });
  await say(server, user, roomId, 'one');
  const second = await slide(user, { lists: { all: list([0, 9]) } }, { pos: first.pos });
  // The client never got `second` and retries from `first`: same content again.
  const retried = await slide(user, { lists: { all: list([0, 9]) } }, { pos: first.pos });
  assert.deepEqual(bodies(retried.rooms![roomId]), ['one']);
  assert.deepEqual(bodies(second.rooms![roomId]), ['one']);
  const third = await slide(user, { lists: { all: list([0, 9]) } }, { pos: retried.pos });
  const stale = await post(user, { lists: { all: list([0, 9]) } }, { pos: second.pos });
  assert.equal(stale.status, 400);
  assert.equal(stale.body.errcode, 'M_UNKNOWN_POS');
  // Sticky list parameters: a list sent with only its ranges keeps its timeline_limit and required_state.
  const sticky = await slide(user, { lists: { all: { ranges: [[0, 9]] } } }, { pos: third.pos, timeout: '0' });
  assert.deepEqual(sticky.lists, { all: { count: 1 } });
});

test('extensions: to-device, acknowledged by the next pos', async () => {
  const user = await registerUser(server.url, 'todevice');
  const send = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/m.test/txn1`, {
    token: alice.accessToken,
    body: { messages: { [user.userId]: { [user.deviceId]: { hello: 'world' } } } },
  });
  assert.equal(send.status, 200);
  const ext = { to_device: { enabled: true } };
  const first = await slide(user, { extensions: ext });
  assert.deepEqual(first.extensions!.to_device!.events, [{ sender: alice.userId, type: 'm.test', content: { hello: 'world' } }]);
  // A retry from no pos (new connection) still has it: nothing was acknowledged.
  const again = await slide(user, { extensions: ext });
  assert.equal(again.extensions!.to_device!.events.length, 1);
  const next = await slide(user, { extensions: ext }, { pos: again.pos, timeout: '0' });
  assert.deepEqual(next.extensions!.to_device!.events, []);
  const left = await server.app.db.selectFrom('to_device_messages').select('position').where('recipient_user_id', '=', user.userId).execute();
  assert.deepEqual(left, [], 'delivered messages are deleted once the next pos acknowledges them');
  // The client's own `since` also acknowledges.
  await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/m.test/txn2`, { token: alice.accessToken, body: { messages: { [user.userId]: { [user.deviceId]: { n: 2 } } } } });
  const withSince = await slide(user, { extensions: { to_device: { enabled: true, since: next.extensions!.to_device!.next_batch } } });
  assert.deepEqual(withSince.extensions!.to_device!.events.map((event) => event.content), [{ n: 2 }]);
});

test('extensions: E2EE key counts and device list changes', async () => {
  const user = await registerUser(server.url, 'cryptic');
  const roomId = await createRoom(server, user, { preset: 'public_chat' });
  const peer = await registerUser(server.url, 'cryptic-peer');
  await join(peer, roomId);
  const device = testDevice(user.userId, user.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: user.accessToken, body: { device_keys: device.deviceKeys, one_time_keys: device.oneTimeKeys(3), fallback_keys: device.fallbackKey() } });
  const first = await slide(user, { extensions: { e2ee: { enabled: true } } });
  assert.deepEqual(first.extensions!.e2ee!.device_one_time_keys_count, { signed_curve25519: 3 });
  assert.deepEqual(first.extensions!.e2ee!.device_unused_fallback_key_types, ['signed_curve25519']);
  assert.equal(first.extensions!.e2ee!.device_lists, undefined, 'no changes on a new connection');
  const peerDevice = testDevice(peer.userId, peer.deviceId);
  await request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: peer.accessToken, body: { device_keys: peerDevice.deviceKeys } });
  const next = await slide(user, { extensions: { e2ee: { enabled: true } } }, { pos: first.pos });
  assert.deepEqual(next.extensions!.e2ee!.device_lists, { changed: [peer.userId], left: [] });
});

test('extensions: account data, receipts and typing for rooms in the window', async () => {
  const user = await registerUser(server.url, 'ephemeral');
  const roomId = await createRoom(server, user, { preset: 'public_chat' });
  await join(alice, roomId);
  const eventId = await say(server, alice, roomId, 'read me');
  await request(server.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/account_data/org.example.global`, { token: user.accessToken, body: { a: 1 } });
  await request(server.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/rooms/${encodeURIComponent(roomId)}/account_data/org.example.room`, { token: user.accessToken, body: { b: 2 } });
  await roomPost(server, alice, `${roomId}`, `receipt/m.read/${encodeURIComponent(eventId)}`, {});
  const ext = { account_data: { enabled: true }, receipts: { enabled: true }, typing: { enabled: true } };
  const first = await slide(user, { lists: { all: list([0, 9]) }, extensions: ext });
  assert.ok(first.extensions!.account_data!.global.some((entry) => entry.type === 'org.example.global'));
  assert.deepEqual(first.extensions!.account_data!.rooms[roomId], [{ type: 'org.example.room', content: { b: 2 } }]);
  const receipt = first.extensions!.receipts!.rooms[roomId];
  assert.ok((receipt.content as any)[eventId]['m.read'][alice.userId].ts > 0);
  assert.deepEqual(first.extensions!.typing!.rooms, {});

  await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 20_000 } });
  const typing = await slide(user, { lists: { all: list([0, 9]) }, extensions: ext }, { pos: first.pos });
  assert.deepEqual(typing.extensions!.typing!.rooms[roomId], { type: 'm.typing', content: { user_ids: [alice.userId] } });
  assert.deepEqual(typing.extensions!.account_data, { global: [], rooms: {} }, 'unchanged account data is not repeated');
  assert.deepEqual(typing.extensions!.receipts!.rooms, {});
  await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: false } });

  // The user's own receipt clears the room's notification count.
  const before = await slide(user, { lists: { all: list([0, 9]) }, extensions: ext }, { pos: typing.pos });
  const last = await say(server, alice, roomId, 'notify me');
  const unread = await slide(user, { lists: { all: list([0, 9]) } }, { pos: before.pos });
  assert.equal(unread.rooms![roomId].notification_count, 2, "both of alice's messages are unread");
  await roomPost(server, user, roomId, `receipt/m.read/${encodeURIComponent(last)}`, {});
  const read = await slide(user, { lists: { all: list([0, 9]) }, extensions: ext }, { pos: unread.pos });
  assert.equal(read.rooms![roomId].notification_count, 0);
  assert.ok((read.extensions!.receipts!.rooms[roomId].content as any)[last]['m.read'][user.userId]);
});

test('refusals: bad ranges, bad lists, bad pos; a huge timeline_limit is capped', async () => {
  const user = await registerUser(server.url, 'refused');
  const roomId = await createRoom(server, user, {});
  for (let i = 0; i < 3; i++) await say(server, user, roomId, `m${i}`);
  const start = await slide(user, { lists: { all: list([0, 9]) } });
  const cases: Array<{ body: Record<string, unknown>; query?: Record<string, string>; status: number; errcode: string; includes?: string }> = [
    { body: { lists: { all: list([5, 1]) } }, status: 400, errcode: 'M_INVALID_PARAM', includes: 'range' },
    { body: { lists: { all: list([0, 1], { ranges: [[-1, 3]] }) } }, status: 400, errcode: 'M_BAD_JSON' },
    { body: { lists: { all: list([0, 1], { ranges: [[0]] }) } }, status: 400, errcode: 'M_BAD_JSON' },
    { body: { lists: { all: { ranges: [[0, 1]] } } }, query: {}, status: 400, errcode: 'M_INVALID_PARAM', includes: 'timeline_limit' },
    { body: { lists: { all: list([0, 1], { timeline_limit: -1 }) } }, status: 400, errcode: 'M_BAD_JSON' },
    { body: { lists: { all: list([0, 1], { required_state: [['only-one']] }) } }, status: 400, errcode: 'M_BAD_JSON' },
    { body: { lists: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, list([0, 1])])) }, status: 400, errcode: 'M_INVALID_PARAM' },
    { body: { lists: { all: list([0, 1]) } }, query: { pos: '999999' }, status: 400, errcode: 'M_UNKNOWN_POS' },
    { body: { lists: { all: list([0, 1]) } }, query: { pos: 'garbage' }, status: 400, errcode: 'M_UNKNOWN_POS' },
    { body: { lists: { all: list([0, 1]) } }, query: { pos: start.pos, timeout: '-5' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { body: { lists: { all: list([0, 1]) }, conn_id: 'x'.repeat(65) }, status: 400, errcode: 'M_BAD_JSON' },
    { body: { extensions: { to_device: { enabled: true, since: 'abc' } } }, status: 400, errcode: 'M_BAD_JSON' },
  ];
  for (const entry of cases) {
    const result = await post(user, entry.body, entry.query ?? { pos: start.pos });
    assert.equal(result.status, entry.status, JSON.stringify({ entry, body: result.body }));
    assert.equal(result.body.errcode, entry.errcode, JSON.stringify({ entry, body: result.body }));
    assert.equal(typeof result.body.error, 'string');
    if (entry.includes) assert.ok(result.body.error.includes(entry.includes), result.body.error);
  }
  // None of them moved the connection: its pos still works.
  const still = await slide(user, { lists: { all: list([0, 9]) } }, { pos: start.pos, timeout: '0' });
  assert.deepEqual(still.rooms, {});
  // Without a token: 401.
  const anonymous = await request(server.url, 'POST', PATH, { body: {} });
  assert.equal(anonymous.status, 401);

  const capped = await slide(user, { room_subscriptions: { [roomId]: { timeline_limit: 10 ** 12, required_state: [] } } });
  assert.ok(capped.rooms![roomId].timeline!.length <= MAX_SLIDING_TIMELINE_LIMIT);
  assert.ok(bodies(capped.rooms![roomId]).includes('m2'));
});
