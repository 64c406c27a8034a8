// Complement's /sync and ephemeral-data scenarios (tests/csapi/sync_*_test.go,
// push_test, room_typing, apidoc_room_receipts, to_device, ignored_users,
// keychanges, device_lists, rooms_members_local, tests/direct_messaging_test.go):
// each test is named after the Complement test function, each subtest after its t.Run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { clientOf, expectStatus, loginAs, seg } from '../support/complement.ts';
import { createRoom, say, syncOnce } from '../support/rooms.ts';
import { testDevice } from '../support/e2ee-keys.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

let userCounter = 0;
const newUser = (name: string) => registerUser(server.url, `${name}${++userCounter}`, { password: 'pw' });
const as = (user: TestUser) => clientOf(server, user);
const room = (roomId: string, rest: string) => `v3/rooms/${seg(roomId)}/${rest}`;
const join = async (user: TestUser, roomId: string) => expectStatus(await as(user).post(`v3/join/${seg(roomId)}`), 200);
const leave = async (user: TestUser, roomId: string) => expectStatus(await as(user).post(room(roomId, 'leave')), 200);
const invite = async (by: TestUser, roomId: string, userId: string) => expectStatus(await as(by).post(room(roomId, 'invite'), { user_id: userId }), 200);
const sync = (user: TestUser, query: Record<string, string> = {}) => syncOnce(server, user, { timeout: '0', ...query });
const INCLUDE_LEAVE = JSON.stringify({ room: { include_leave: true } });
const timeline = (response: any, roomId: string, section = 'join') => response.rooms?.[section]?.[roomId]?.timeline;

test('TestSyncLeaveSection', async (t) => {
  const alice = await newUser('alice');
  const roomId = await createRoom(server, alice);
  const incrementalSince = (await sync(alice)).next_batch;
  await leave(alice, roomId);
  await t.test('Left rooms appear in the leave section of sync', async () => {
    assert.ok((await sync(alice, { filter: INCLUDE_LEAVE })).rooms.leave[roomId]);
  });
  await t.test('Left rooms appear in the leave section of full state sync', async () => {
    assert.ok((await sync(alice, { filter: INCLUDE_LEAVE, full_state: 'true' })).rooms.leave[roomId]);
  });
  await t.test('Newly left rooms appear in the leave section of incremental sync', async () => {
    assert.ok((await sync(alice, { since: incrementalSince })).rooms.leave[roomId]);
  });
});

test('TestGappedSyncLeaveSection', async () => {
  const alice = await newUser('alice');
  const filter = JSON.stringify({ room: { timeline: { limit: 1 }, include_leave: true } });
  const roomToLeave = await createRoom(server, alice);
  const roomToSpam = await createRoom(server, alice);
  const since = (await sync(alice, { filter })).next_batch;
  await leave(alice, roomToLeave);
  for (let i = 0; i < 5; i++) await say(server, alice, roomToSpam, `spam ${i}`);
  assert.ok((await sync(alice, { filter, since })).rooms.leave[roomToLeave]);
});

test('TestArchivedRoomsHistory', async (t) => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const madeUp = 'a.madeup.test.state';
  const filter = JSON.stringify({ room: { timeline: { types: ['m.room.message', madeUp] }, state: { types: [madeUp] }, include_leave: true } });
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomId);
  const bobSince = (await sync(bob, { filter })).next_batch;
  await say(server, alice, roomId, 'before');
  expectStatus(await as(alice).put(room(roomId, `state/${madeUp}/`), { my_key: 'before' }), 200);
  await leave(bob, roomId);
  await say(server, alice, roomId, 'after');
  expectStatus(await as(alice).put(room(roomId, `state/${madeUp}/`), { my_key: 'after' }), 200);
  const empty = JSON.stringify({ room: { timeline: { limit: 0 }, include_leave: true } });
  const checkEmpty = (response: any) => {
    const left = response.rooms.leave[roomId];
    assert.deepEqual(left.timeline.events, []);
    assert.ok(!left.state.events.some((e: any) => e.type === madeUp && e.content.my_key === 'after'), 'no state from after the leave');
    const leaveEvent = left.state.events.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(leaveEvent?.content.membership, 'leave');
  };
  const checkHasEvents = (response: any) => {
    const left = response.rooms.leave[roomId];
    assert.deepEqual(left.state?.events ?? [], [], 'the made-up state is in the timeline, so not in state');
    assert.deepEqual(left.timeline.events.map((e: any) => e.content.body ?? e.content.my_key), ['before', 'before'], 'only the message and the state from before the leave');
    assert.deepEqual(left.timeline.events.map((e: any) => e.type), ['m.room.message', madeUp]);
  };
  await t.test('timeline has events / initial sync', async () => checkHasEvents(await sync(bob, { filter })));
  await t.test('timeline has events / incremental sync', async () => checkHasEvents(await sync(bob, { filter, since: bobSince })));
  await t.test('timeline is empty / initial sync', async () => checkEmpty(await sync(bob, { filter: empty })));
  await t.test('timeline is empty / incremental sync', async () => checkEmpty(await sync(bob, { filter: empty, since: bobSince })));
});

test('TestOlderLeftRoomsNotInLeaveSection', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const filter = JSON.stringify({ room: { timeline: { limit: 1 }, include_leave: true } });
  const roomToLeave = await createRoom(server, alice, { preset: 'public_chat' });
  const roomToSpam = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomToLeave);
  await join(bob, roomToSpam);
  let since = (await sync(alice, { filter })).next_batch;
  await leave(alice, roomToLeave);
  since = (await sync(alice, { filter, since })).next_batch;
  await say(server, bob, roomToLeave, 'after alice left');
  for (let i = 0; i < 3; i++) await say(server, bob, roomToSpam, `spam ${i}`);
  const response = await sync(alice, { filter, since });
  assert.equal(response.rooms?.leave?.[roomToLeave], undefined);
});

test('TestLeaveEventVisibility', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
  await join(bob, roomId);
  const since = (await sync(alice, { filter: INCLUDE_LEAVE })).next_batch;
  await leave(alice, roomId);
  const left = (await sync(alice, { filter: INCLUDE_LEAVE, since })).rooms.leave[roomId];
  assert.deepEqual(left.state?.events ?? [], []);
  assert.equal(left.timeline.events.length, 1);
  assert.equal(left.timeline.events[0].type, 'm.room.member');
  assert.equal(left.timeline.events[0].sender, alice.userId);
  assert.equal(left.timeline.events[0].content.membership, 'leave');
});

test('TestLeaveEventInviteRejection', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, bob, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
  await invite(bob, roomId, alice.userId);
  const since = (await sync(alice, { filter: INCLUDE_LEAVE })).next_batch;
  await leave(alice, roomId);
  const left = (await sync(alice, { filter: INCLUDE_LEAVE, since })).rooms.leave[roomId];
  assert.ok(left, 'the rejected invite is in the leave section');
  const leaveEvent = left.timeline.events.find((e: any) => e.type === 'm.room.member' && e.state_key === alice.userId);
  assert.equal(leaveEvent?.content.membership, 'leave');
});

test('TestSyncFilter', async (t) => {
  const alice = await newUser('alice');
  let filterId = '';
  await t.test('Can create filter', async () => {
    const result = await as(alice).post(`v3/user/${seg(alice.userId)}/filter`, { room: { timeline: { limit: 10 } } });
    expectStatus(result, 200);
    filterId = result.body.filter_id;
  });
  await t.test('Can download filter', async () => {
    const result = await as(alice).get(`v3/user/${seg(alice.userId)}/filter/${filterId}`);
    expectStatus(result, 200);
    assert.equal(result.body.room.timeline.limit, 10);
  });
});

test('TestCumulativeJoinLeaveJoinSync', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, bob, { preset: 'public_chat' });
  const since = (await sync(alice)).next_batch;
  await join(alice, roomId);
  await leave(alice, roomId);
  await join(alice, roomId);
  const response = await sync(alice, { since });
  assert.equal(response.rooms?.leave?.[roomId], undefined);
  assert.ok(response.rooms.join[roomId]);
});

test('TestTentativeEventualJoiningAfterRejecting', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  let since = (await sync(bob)).next_batch;
  await invite(alice, roomId, bob.userId);
  await leave(bob, roomId);
  let response = await sync(bob, { since, full_state: 'true' });
  assert.ok(response.rooms.leave[roomId], 'the rejection is in the leave section');
  since = response.next_batch;
  await join(bob, roomId);
  response = await sync(bob, { since, full_state: 'true' });
  assert.equal(response.rooms?.leave?.[roomId], undefined);
  assert.ok(response.rooms.join[roomId]);
});

test('TestSync', async (t) => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  await t.test('Can sync a joined room', async () => {
    const roomId = await createRoom(server, alice);
    const response = await sync(alice, { filter: JSON.stringify({ room: { timeline: { limit: 10 } } }) });
    assert.ok(response.rooms.join[roomId]);
    const next = await sync(alice, { since: response.next_batch });
    assert.equal(next.rooms?.join?.[roomId], undefined);
  });
  await t.test('Full state sync includes joined rooms', async () => {
    const roomId = await createRoom(server, alice);
    const since = (await sync(alice)).next_batch;
    const response = await sync(alice, { since, full_state: 'true' });
    assert.ok(response.rooms.join[roomId].state.events.some((e: any) => e.type === 'm.room.create'));
  });
  await t.test('Newly joined room is included in an incremental sync', async () => {
    const since = (await sync(alice)).next_batch;
    const roomId = await createRoom(server, alice);
    assert.ok((await sync(alice, { since })).rooms.join[roomId]);
  });
  // Complement wants `limited` unless exactly 6 messages come (Synapse fills 10 events before the types
  // filter); Palisade fills the limit after it, so all 8 messages arrive, not limited.
  await t.test('Newly joined room has correct timeline in incremental sync (types filter applied; all 8 messages, not limited)', async () => {
    const filter = JSON.stringify({ room: { timeline: { limit: 10, types: ['m.room.message'] }, state: { types: [] } } });
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    for (let i = 0; i < 4; i++) await say(server, alice, roomId, `alice message 1-${i}`);
    const since = (await sync(bob, { filter })).next_batch;
    for (let i = 0; i < 4; i++) await say(server, alice, roomId, `alice message 2-${i}`);
    await join(bob, roomId);
    const joined = (await sync(bob, { filter, since })).rooms.join[roomId].timeline;
    assert.ok(joined.events.every((e: any) => e.type === 'm.room.message'), 'only messages');
    assert.equal(joined.events.length, 8, JSON.stringify(joined.events.map((e: any) => e.content.body)));
    assert.equal(joined.limited, false, 'every message of the room is there');
  });
  await t.test('Newly joined room includes presence in incremental sync', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    const since = (await sync(bob)).next_batch;
    await join(bob, roomId);
    const first = await sync(bob, { since });
    assert.ok(first.presence?.events?.some((e: any) => e.sender === alice.userId), `alice's presence with the join: ${JSON.stringify(first.presence)}`);
    assert.ok(first.presence.events.every((e: any) => [alice.userId, bob.userId].includes(e.sender)), 'no one who shares no room');
    const again = await sync(bob, { since: first.next_batch });
    assert.deepEqual(again.presence?.events ?? [], [], 'and not again');
  });
  await t.test('Get presence for newly joined members in incremental sync', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await say(server, alice, roomId, 'dummy message');
    const since = (await sync(alice)).next_batch;
    await join(bob, roomId);
    const first = await sync(alice, { since });
    assert.ok(first.presence?.events?.some((e: any) => e.sender === bob.userId), `bob's presence with his join: ${JSON.stringify(first.presence)}`);
    const again = await sync(alice, { since: first.next_batch });
    assert.deepEqual(again.presence?.events ?? [], [], 'and not again');
  });
});

test('TestPresenceSyncDifferentRooms', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const charlie = await newUser('charlie');
  const bobRoom = await createRoom(server, alice);
  const charlieRoom = await createRoom(server, alice);
  await invite(alice, bobRoom, bob.userId);
  await invite(alice, charlieRoom, charlie.userId);
  await join(bob, bobRoom);
  await join(charlie, charlieRoom);
  const since = (await sync(alice)).next_batch;
  expectStatus(await as(bob).put(`v3/presence/${seg(bob.userId)}/status`, { presence: 'online' }), 200);
  expectStatus(await as(charlie).put(`v3/presence/${seg(charlie.userId)}/status`, { presence: 'online' }), 200);
  const online = new Set((await sync(alice, { since })).presence.events.filter((e: any) => e.content.presence === 'online').map((e: any) => e.sender));
  assert.ok(online.has(bob.userId) && online.has(charlie.userId));
});

test('TestRoomSummary (sync summary counts)', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat', invite: [bob.userId] });
  const summary = (await sync(alice)).rooms.join[roomId].summary;
  assert.equal(summary['m.invited_member_count'], 1);
  assert.equal(summary['m.joined_member_count'], 1);
  await join(bob, roomId);
  const after = (await sync(bob)).rooms.join[roomId].summary;
  assert.equal(after['m.invited_member_count'] ?? 0, 0);
  assert.equal(after['m.joined_member_count'], 2);
});

test('TestPushSync', async (t) => {
  const alice = await newUser('alice');
  const pushRulesIn = (response: any) => response.account_data?.events?.find((e: any) => e.type === 'm.push_rules');
  const wakes = async (change: () => Promise<unknown>) => {
    const since = (await sync(alice)).next_batch;
    await change();
    const rules = pushRulesIn(await sync(alice, { since }));
    assert.ok(rules?.content.global.override.some((rule: any) => rule.rule_id === '.m.rule.master'), 'merged with the defaults');
  };
  await t.test('Push rules come down in an initial /sync', async () => {
    const initial = pushRulesIn(await sync(alice));
    assert.ok(initial?.content.global, 'the defaults, before any change');
    const served = await as(alice).get('v3/pushrules/');
    assert.deepEqual(initial.content, served.body, 'the same rules GET /pushrules/ answers');
    const quiet = await sync(alice, { filter: JSON.stringify({ account_data: { not_types: ['m.push_rules'] } }) });
    assert.equal(pushRulesIn(quiet), undefined, 'a filter leaving m.push_rules out is obeyed');
    const since = (await sync(alice)).next_batch;
    assert.equal(pushRulesIn(await sync(alice, { since })), undefined, 'not again in an incremental sync with no change');
  });
  await t.test('Adding a push rule wakes up an incremental /sync', async () => {
    await wakes(async () => expectStatus(await as(alice).put('v3/pushrules/global/room/!foo:example.com', { actions: ['dont_notify'] }), 200));
  });
  await t.test('Disabling a push rule wakes up an incremental /sync', async () => {
    await wakes(async () => expectStatus(await as(alice).put('v3/pushrules/global/room/!foo:example.com/enabled', { enabled: false }), 200));
  });
  await t.test('Enabling a push rule wakes up an incremental /sync', async () => {
    await wakes(async () => expectStatus(await as(alice).put('v3/pushrules/global/room/!foo:example.com/enabled', { enabled: true }), 200));
  });
  await t.test('Setting actions for a push rule wakes up an incremental /sync', async () => {
    await wakes(async () => expectStatus(await as(alice).put('v3/pushrules/global/room/!foo:example.com/actions', { actions: ['notify'] }), 200));
  });
});

test('TestPushRuleCacheHealth', async () => {
  const alice = await newUser('alice');
  expectStatus(await as(alice).put('v3/pushrules/global/sender/@bob:example.com', { actions: ['dont_notify'] }), 200);
  const result = await as(alice).get('v3/pushrules/global/sender/@bob:example.com');
  expectStatus(result, 200);
  assert.deepEqual(result.body.actions, ['dont_notify']);
  expectStatus(await as(alice).delete('v3/pushrules/global/sender/@bob:example.com'), 200);
  expectStatus(await as(alice).get('v3/pushrules/global/sender/@bob:example.com'), 404, 'M_NOT_FOUND');
});

test('TestTyping and TestLeakyTyping', async (t) => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomId);
  const typingOf = (response: any) => response.rooms?.join?.[roomId]?.ephemeral?.events?.find((e: any) => e.type === 'm.typing');
  const typing = (user: TestUser, value: boolean) => as(user).put(room(roomId, `typing/${seg(user.userId)}`), { typing: value, timeout: 10000 });
  await t.test('Typing notification sent to local room members', async () => {
    const since = (await sync(bob)).next_batch;
    expectStatus(await typing(alice, true), 200);
    assert.deepEqual(typingOf(await sync(bob, { since }))?.content.user_ids, [alice.userId]);
  });
  await t.test('Typing can be explicitly stopped', async () => {
    const since = (await sync(bob)).next_batch;
    expectStatus(await typing(alice, false), 200);
    assert.deepEqual(typingOf(await sync(bob, { since }))?.content.user_ids, []);
  });
  await t.test('Typing events DO NOT include a `room_id` field', async () => {
    const since = (await sync(bob)).next_batch;
    expectStatus(await typing(alice, true), 200);
    const event = typingOf(await sync(bob, { since }));
    assert.ok(event);
    assert.equal(event.room_id, undefined);
  });
  await t.test('TestLeakyTyping', async () => {
    const charlie = await newUser('charlie');
    const since = (await sync(charlie)).next_batch;
    expectStatus(await typing(bob, true), 200);
    const response = await sync(charlie, { since });
    assert.equal(response.rooms?.join?.[roomId], undefined);
  });
});

test('TestRoomReceipts and TestRoomReadMarkers', async (t) => {
  const alice = await newUser('alice');
  const roomId = await createRoom(server, alice);
  const eventId = await say(server, alice, roomId, 'read me');
  await t.test('Receipts DO NOT include a `room_id` field', async () => {
    const since = (await sync(alice)).next_batch;
    expectStatus(await as(alice).post(room(roomId, `receipt/m.read/${seg(eventId)}`), {}), 200);
    const receipt = (await sync(alice, { since })).rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt');
    assert.ok(receipt.content[eventId]['m.read'][alice.userId]);
    assert.equal(receipt.room_id, undefined);
  });
  await t.test('TestRoomReadMarkers', async () => {
    const eventId = await say(server, alice, roomId, 'read me too');
    const since = (await sync(alice)).next_batch;
    expectStatus(await as(alice).post(room(roomId, 'read_markers'), { 'm.fully_read': eventId, 'm.read': eventId }), 200);
    const joined = (await sync(alice, { since })).rooms.join[roomId];
    assert.equal(joined.account_data.events.find((e: any) => e.type === 'm.fully_read')?.content.event_id, eventId);
    assert.ok(joined.ephemeral.events.find((e: any) => e.type === 'm.receipt').content[eventId]['m.read'][alice.userId]);
  });
});

test('TestToDeviceMessages', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const since = (await sync(bob)).next_batch;
  expectStatus(await as(alice).put('v3/sendToDevice/my.test.type/txn1', { messages: { [bob.userId]: { [bob.deviceId]: { my_key: 'my_value' } } } }), 200);
  const events = (await sync(bob, { since })).to_device.events;
  assert.deepEqual(events.map((e: any) => [e.sender, e.type, e.content.my_key]), [[alice.userId, 'my.test.type', 'my_value']]);
});

test('TestInviteFromIgnoredUsersDoesNotAppearInSync', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const chris = await newUser('chris');
  expectStatus(await as(alice).put(`v3/user/${seg(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: { [bob.userId]: {} } }), 200);
  const since = (await sync(alice)).next_batch;
  const fromBob = await createRoom(server, bob, { invite: [alice.userId] });
  const fromChris = await createRoom(server, chris, { invite: [alice.userId] });
  const invites = (await sync(alice, { since })).rooms.invite;
  assert.ok(invites[fromChris]);
  assert.equal(invites[fromBob], undefined);
});

test('TestKeyChangesLocal / New login should create a device_lists.changed entry', async () => {
  const alice = await newUser('alice');
  const bob = await registerUser(server.url, 'keychanges_bob', { password: 'bob-pw' });
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomId);
  const since = (await sync(alice)).next_batch;
  const second = await loginAs(server, 'keychanges_bob', 'bob-pw');
  expectStatus(await as(second).post('v3/keys/upload', { device_keys: testDevice(bob.userId, second.deviceId).deviceKeys }), 200);
  const response = await sync(alice, { since });
  assert.ok(response.device_lists?.changed?.includes(bob.userId), JSON.stringify(response.device_lists));
});

test('TestMembersLocal', async (t) => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const aliceSince = (await sync(alice)).next_batch;
  await sync(bob, { set_presence: 'online' });
  await join(bob, roomId);
  await t.test('New room members see their own join event', async () => {
    const events = timeline(await sync(bob), roomId).events;
    assert.ok(events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'join'));
  });
  await t.test("Existing members see new members' join events", async () => {
    const events = timeline(await sync(alice, { since: aliceSince }), roomId).events;
    assert.ok(events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'join'));
  });
  await t.test("Existing members see new members' presence (in initial sync)", async () => {
    assert.ok((await sync(alice)).presence.events.some((e: any) => e.sender === bob.userId));
  });
  await t.test("Existing members see new members' presence (in incremental sync)", async () => {
    assert.ok((await sync(alice, { since: aliceSince })).presence.events.some((e: any) => e.sender === bob.userId));
  });
});

test('TestWriteMDirectAccountData and TestIsDirectFlagLocal', async (t) => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  await t.test('TestWriteMDirectAccountData', async () => {
    const roomId = await createRoom(server, alice, { invite: [bob.userId], is_direct: true });
    const since = (await sync(alice)).next_batch;
    expectStatus(await as(alice).put(`v3/user/${seg(alice.userId)}/account_data/m.direct`, { [bob.userId]: [roomId] }), 200);
    const direct = (await sync(alice, { since })).account_data.events.find((e: any) => e.type === 'm.direct');
    assert.deepEqual(direct.content, { [bob.userId]: [roomId] });
  });
  await t.test('TestIsDirectFlagLocal', async () => {
    const roomId = await createRoom(server, alice, { invite: [bob.userId], is_direct: true });
    const stripped = (await sync(bob)).rooms.invite[roomId].invite_state.events;
    const own = stripped.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(own.content.is_direct, true);
  });
});

// tests/csapi/thread_notifications_test.go
test('TestThreadedReceipts', async () => {
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await join(bob, roomId);
  const bobSince = (await sync(bob)).next_batch;
  let txn = 0;
  const send = async (type: string, content: Record<string, unknown>) => (await as(alice).put(room(roomId, `send/${type}/thr-${txn++}`), content)).body.event_id as string;
  const thread = (eventId: string, relType = 'm.thread') => ({ 'm.relates_to': { event_id: eventId, rel_type: relType } });
  const eventA = await send('m.room.message', { msgtype: 'm.text', body: 'Hello world!' });
  const eventB = await send('m.room.message', { msgtype: 'm.text', body: 'Start thread!', ...thread(eventA) });
  await send('m.room.message', { msgtype: 'm.text', body: `Thread response ${bob.userId}!`, ...thread(eventA) });
  const eventD = await send('m.room.message', { msgtype: 'm.text', body: `Hello ${bob.userId}!` });
  await send('m.room.message', { msgtype: 'm.text', body: 'End thread', ...thread(eventA) });
  const eventF = await send('m.room.message', { msgtype: 'm.text', body: 'Reference!', ...thread(eventA, 'm.reference') });
  const eventG = await send('m.room.reaction', { 'm.relates_to': { event_id: eventF, rel_type: 'm.annotation', key: 'test' } });
  const threadFilter = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });
  const counts = async (threaded: boolean) => {
    const joined = (await sync(bob, { since: bobSince, ...(threaded ? { filter: threadFilter } : {}) })).rooms.join[roomId];
    const inThread = joined.unread_thread_notifications?.[eventA];
    return {
      room: [joined.unread_notifications.highlight_count, joined.unread_notifications.notification_count],
      thread: inThread ? [inThread.highlight_count, inThread.notification_count] : joined.unread_thread_notifications,
    };
  };
  const receipt = async (eventId: string, body: Record<string, unknown>) => expectStatus(await as(bob).post(room(roomId, `receipt/m.read/${seg(eventId)}`), body), 200);
  assert.deepEqual(await counts(false), { room: [2, 6], thread: undefined });
  assert.deepEqual(await counts(true), { room: [1, 3], thread: [1, 3] });
  await receipt(eventA, { thread_id: 'main' });
  assert.deepEqual(await counts(false), { room: [2, 5], thread: undefined });
  assert.deepEqual(await counts(true), { room: [1, 2], thread: [1, 3] });
  await receipt(eventB, { thread_id: eventA });
  assert.deepEqual(await counts(false), { room: [2, 4], thread: undefined });
  assert.deepEqual(await counts(true), { room: [1, 2], thread: [1, 2] });
  await receipt(eventD, {});
  assert.deepEqual(await counts(false), { room: [0, 2], thread: undefined });
  assert.deepEqual(await counts(true), { room: [0, 1], thread: [0, 1] });
  await receipt(eventG, { thread_id: eventA });
  expectStatus(await as(bob).post(room(roomId, `receipt/m.read/${seg(eventD)}`), { thread_id: eventA }), 400, 'M_INVALID_PARAM');
  assert.deepEqual(await counts(false), { room: [0, 1], thread: undefined });
  const last = await counts(true);
  assert.deepEqual(last.room, [0, 1]);
  assert.ok(last.thread === undefined || Object.keys(last.thread).length === 0, `the thread is read: ${JSON.stringify(last.thread)}`);
  const receipts = (await sync(bob, { since: bobSince })).rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt').content;
  assert.equal(receipts[eventA]['m.read'][bob.userId].thread_id, 'main');
  assert.equal(receipts[eventD]['m.read'][bob.userId].thread_id, undefined, 'the unthreaded receipt has no thread_id');
  assert.equal(receipts[eventG]['m.read'][bob.userId].thread_id, eventA);
});

test('TestThreadReceiptsInSyncMSC4102 (TestThreadReceiptsInSync)', async () => {
  const alice = await newUser('alice');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const eventA = (await as(alice).put(room(roomId, 'send/m.room.message/t1'), { msgtype: 'm.text', body: 'Hello world!' })).body.event_id;
  const eventB = (await as(alice).put(room(roomId, 'send/m.room.message/t2'), { msgtype: 'm.text', body: 'Start thread!', 'm.relates_to': { event_id: eventA, rel_type: 'm.thread' } })).body.event_id;
  expectStatus(await as(alice).post(room(roomId, `receipt/m.read/${seg(eventB)}`), {}), 200);
  expectStatus(await as(alice).post(room(roomId, `receipt/m.read/${seg(eventB)}`), { thread_id: eventA }), 200);
  const receipts = (await sync(alice)).rooms.join[roomId].ephemeral.events.filter((e: any) => e.type === 'm.receipt');
  const readers = receipts.map((e: any) => e.content[eventB]?.['m.read']?.[alice.userId]).filter(Boolean);
  assert.ok(readers.some((r: any) => r.thread_id === undefined), `the unthreaded receipt: ${JSON.stringify(receipts)}`);
  assert.ok(readers.some((r: any) => r.thread_id === eventA), 'and the threaded one');
});
