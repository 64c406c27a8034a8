import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationCountType } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';
import { quietMatrixSdk, startSyncedClient } from '../support/js-sdk.ts';
import { waitFor } from '../support/wait-for.ts';
import { unreadNotificationCount } from '../../server/storage/queries/push.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  quietMatrixSdk();
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const THREADED = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });
const counts = (notification_count: number, highlight_count: number) => ({ notification_count, highlight_count });

function postReceipt(user: TestUser, roomId: string, eventId: string, body: Record<string, unknown> = {}) {
  return request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, { token: user.accessToken, body });
}

async function threadReply(user: TestUser, roomId: string, rootId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
  const result = await sendMessage(server, user, roomId, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: rootId, is_falling_back: true }, ...extra });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body.event_id;
}

/** A room alice made and bob joined, with a root in the main timeline and a thread under it. */
async function roomWithThread() {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  const start = await syncOnce(server, bob, { filter: THREADED });
  const root = await say(server, alice, roomId, 'thread root');
  const first = await threadReply(alice, roomId, root, 'first reply');
  const second = await threadReply(alice, roomId, root, 'second reply');
  // A message relating to a reply (not itself a thread reply) belongs to the thread too.
  const reference = (await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'about the first reply', 'm.relates_to': { rel_type: 'm.reference', event_id: first } })).body.event_id;
  const mention = await threadReply(alice, roomId, root, 'bob, look', { 'm.mentions': { user_ids: [bob.userId] } });
  return { roomId, start, root, first, second, reference, mention };
}

test('unread_thread_notifications: per-thread counts, the main timeline without them; without the filter one total', async () => {
  const { roomId, start, root, second, mention } = await roomWithThread();
  const threaded = await syncOnce(server, bob, { since: start.next_batch, filter: THREADED });
  const room = threaded.rooms.join[roomId];
  assert.deepEqual(room.unread_notifications, counts(1, 0), 'only the root is in the main timeline');
  assert.deepEqual(room.unread_thread_notifications, { [root]: counts(4, 1) });
  const plain = (await syncOnce(server, bob, { since: start.next_batch })).rooms.join[roomId];
  assert.deepEqual(plain.unread_notifications, counts(5, 1));
  assert.equal(plain.unread_thread_notifications, undefined, 'not asked for');

  // A threaded receipt clears its thread up to the event; the main timeline keeps its count.
  assert.equal((await postReceipt(bob, roomId, second, { thread_id: root })).status, 200);
  const afterThreadReceipt = await syncOnce(server, bob, { since: threaded.next_batch, filter: THREADED });
  assert.deepEqual(afterThreadReceipt.rooms.join[roomId].unread_notifications, counts(1, 0));
  assert.deepEqual(afterThreadReceipt.rooms.join[roomId].unread_thread_notifications, { [root]: counts(2, 1) });
  assert.deepEqual((await syncOnce(server, bob)).rooms.join[roomId].unread_notifications, counts(3, 1), 'the total honours thread receipts too');

  // A `main` receipt clears the main timeline only.
  assert.equal((await postReceipt(bob, roomId, root, { thread_id: 'main' })).status, 200);
  const afterMain = (await syncOnce(server, bob, { filter: THREADED })).rooms.join[roomId];
  assert.deepEqual(afterMain.unread_notifications, counts(0, 0));
  assert.deepEqual(afterMain.unread_thread_notifications, { [root]: counts(2, 1) });

  // An unthreaded receipt clears everything before it, threads included.
  assert.equal((await postReceipt(bob, roomId, mention)).status, 200);
  const cleared = (await syncOnce(server, bob, { filter: THREADED })).rooms.join[roomId];
  assert.deepEqual(cleared.unread_notifications, counts(0, 0));
  assert.deepEqual(cleared.unread_thread_notifications, {}, 'threads with nothing unread are left out');
});

test('one’s own thread reply reads that thread only; one’s own main-timeline message reads everything before it', async () => {
  const { roomId, root } = await roomWithThread();
  await say(server, alice, roomId, 'main after the thread');
  await threadReply(bob, roomId, root, 'bob answers in the thread');
  const afterOwnReply = (await syncOnce(server, bob, { filter: THREADED })).rooms.join[roomId];
  assert.deepEqual(afterOwnReply.unread_notifications, counts(2, 0));
  assert.deepEqual(afterOwnReply.unread_thread_notifications, {});

  await threadReply(alice, roomId, root, 'alice again in the thread');
  await say(server, bob, roomId, 'bob in the main timeline');
  const afterOwnMain = (await syncOnce(server, bob, { filter: THREADED })).rooms.join[roomId];
  assert.deepEqual(afterOwnMain.unread_notifications, counts(0, 0));
  assert.deepEqual(afterOwnMain.unread_thread_notifications, {});
});

test('a room that comes down only for typing still carries its thread counts', async () => {
  const { roomId, root } = await roomWithThread();
  const base = await syncOnce(server, bob, { filter: THREADED });
  const typing = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, {
    token: alice.accessToken,
    body: { typing: true, timeout: 30_000 },
  });
  assert.equal(typing.status, 200);
  const onlyTyping = (await syncOnce(server, bob, { since: base.next_batch, filter: THREADED })).rooms.join[roomId];
  assert.deepEqual(onlyTyping.timeline.events, []);
  assert.deepEqual(onlyTyping.unread_thread_notifications, { [root]: counts(4, 1) });
});

test('thread receipts that do not fit are refused and change no count', async () => {
  const { roomId, root, first } = await roomWithThread();
  const before = (await syncOnce(server, bob, { filter: THREADED })).rooms.join[roomId];
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(root)}`;
  await assertRefusal(await postReceipt(bob, roomId, root, { thread_id: first }), { method: 'POST', path, status: 400, errcode: 'M_INVALID_PARAM' });
  await assertRefusal(await postReceipt(bob, roomId, root, { thread_id: 'not-an-event' }), { method: 'POST', path, status: 400, errcode: 'M_INVALID_PARAM' });
  const after = (await syncOnce(server, bob, { filter: THREADED })).rooms.join[roomId];
  assert.deepEqual(after.unread_notifications, before.unread_notifications);
  assert.deepEqual(after.unread_thread_notifications, before.unread_thread_notifications);
});

test('matrix-js-sdk with thread support shows per-thread counts and clears them on a threaded receipt', async () => {
  const { roomId, root, mention } = await roomWithThread();
  const client = await startSyncedClient(server.url, bob, { threadSupport: true });
  try {
    const room = await waitFor('the room in the client', async () => client.getRoom(roomId) ?? undefined);
    await waitFor('thread counts from sync', async () => (room.getThreadUnreadNotificationCount(root, NotificationCountType.Total) === 4 ? true : undefined));
    assert.equal(room.getThreadUnreadNotificationCount(root, NotificationCountType.Highlight), 1);
    assert.equal(room.getRoomUnreadNotificationCount(NotificationCountType.Total), 1, 'the room count is the main timeline');
    assert.equal((await postReceipt(bob, roomId, mention, { thread_id: root })).status, 200);
    await waitFor('the thread read', async () => (room.getThreadUnreadNotificationCount(root, NotificationCountType.Total) === 0 ? true : undefined));
    assert.equal(room.getRoomUnreadNotificationCount(NotificationCountType.Total), 1, 'the main timeline is still unread');
  } finally {
    client.stopClient();
  }
});

test('/notifications read flags and the push badge count honour threaded receipts too', async () => {
  const { roomId, root, first, mention } = await roomWithThread();
  const notified = await waitFor('the push evaluation', async () => {
    const list = await request(server.url, 'GET', `/_matrix/client/v3/notifications?limit=100`, { token: bob.accessToken });
    const inRoom = (list.body.notifications ?? []).filter((entry: any) => entry.room_id === roomId);
    return inRoom.length === 5 ? inRoom : undefined;
  });
  assert.ok(notified.every((entry: any) => entry.read === false));
  const badgeBefore = await unreadNotificationCount(server.app.db, bob.userId);

  assert.equal((await postReceipt(bob, roomId, first, { thread_id: root })).status, 200);
  const list = await request(server.url, 'GET', `/_matrix/client/v3/notifications?limit=100`, { token: bob.accessToken });
  const readOf = new Map(list.body.notifications.filter((entry: any) => entry.room_id === roomId).map((entry: any) => [entry.event.event_id, entry.read]));
  assert.equal(readOf.get(root), false, 'the root is in the main timeline: a thread receipt does not read it');
  assert.equal(readOf.get(first), true);
  assert.equal(readOf.get(mention), false, 'later in the thread');
  assert.equal(await unreadNotificationCount(server.app.db, bob.userId), badgeBefore - 1, 'only the read reply leaves the badge');
});
