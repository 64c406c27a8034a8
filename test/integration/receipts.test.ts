import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';
import { accountDataPath, userDataSnapshot, userRequest } from '../support/user-data.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let roomId: string;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
  roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
});
after(() => server.stop());

const receiptPath = (room: string, type: string, eventId: string) =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/receipt/${encodeURIComponent(type)}/${encodeURIComponent(eventId)}`;
const markersPath = (room: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/read_markers`;

async function postReceipt(user: TestUser, type: string, eventId: string, body: unknown = {}, room = roomId) {
  const path = receiptPath(room, type, eventId);
  const result = await request(server.url, 'POST', path, { token: user.accessToken, body });
  if (result.status === 200) await assertMatchesSpec({ method: 'POST', path, status: 200, body: result.body });
  return result;
}

/** The m.receipt content of a room in a sync response (merged if several). */
function receiptsIn(body: any, room: string): Record<string, any> | undefined {
  const events = body.rooms.join[room]?.ephemeral?.events.filter((entry: any) => entry.type === 'm.receipt') ?? [];
  return events.length === 0 ? undefined : Object.assign({}, ...events.map((event: any) => event.content));
}

test('m.read receipts reach every member; m.read.private only the sender', async () => {
  const first = await say(server, alice, roomId, 'one');
  const aliceStart = await syncOnce(server, alice);
  const bobStart = await syncOnce(server, bob);
  assert.equal((await postReceipt(bob, 'm.read', first)).status, 200);

  const aliceSees = await syncOnce(server, alice, { since: aliceStart.next_batch });
  const content = receiptsIn(aliceSees, roomId)!;
  assert.deepEqual(Object.keys(content), [first]);
  assert.equal(typeof content[first]['m.read'][bob.userId].ts, 'number');
  assert.equal(content[first]['m.read'][bob.userId].thread_id, undefined, 'unthreaded');
  await assertEventMatchesSpec({ type: 'm.receipt', content, room_id: roomId });

  const second = await say(server, alice, roomId, 'two');
  const afterMessage = await syncOnce(server, alice);
  assert.ok(receiptsIn(afterMessage, roomId)?.[first]['m.read'][bob.userId], 'an initial sync carries the receipts of the room');

  assert.equal((await postReceipt(bob, 'm.read.private', second)).status, 200);
  const bobSees = await syncOnce(server, bob, { since: bobStart.next_batch });
  assert.ok(receiptsIn(bobSees, roomId)?.[second]['m.read.private'][bob.userId], 'bob sees his private receipt');
  const aliceNow = await syncOnce(server, alice, { since: aliceSees.next_batch });
  assert.equal(receiptsIn(aliceNow, roomId)?.[second], undefined, 'alice never sees bob’s private receipt');
  const aliceInitial = await syncOnce(server, alice);
  assert.equal(receiptsIn(aliceInitial, roomId)?.[second], undefined);
  const withoutReceipts = await syncOnce(server, alice, { filter: JSON.stringify({ room: { ephemeral: { not_types: ['m.receipt'] } } }) });
  assert.equal(receiptsIn(withoutReceipts, roomId), undefined, 'a filter can leave receipts out');
});

test('receipts never move back to an older event; threaded receipts are kept per thread', async () => {
  const older = await say(server, alice, roomId, 'older');
  const newer = await say(server, alice, roomId, 'newer');
  const start = await syncOnce(server, alice);
  await postReceipt(bob, 'm.read', newer);
  await postReceipt(bob, 'm.read', older);
  const row = await server.app.db.selectFrom('receipts').select('event_id').where('room_id', '=', roomId).where('user_id', '=', bob.userId).where('receipt_type', '=', 'm.read').where('thread_id', '=', '').executeTakeFirstOrThrow();
  assert.equal(row.event_id, newer);

  assert.equal((await postReceipt(bob, 'm.read', older, { thread_id: 'main' })).status, 200);
  // A thread: receipts under its root's ID, for the root or a reply in it; any other event is refused.
  const reply = (await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'in thread', 'm.relates_to': { rel_type: 'm.thread', event_id: older } })).body.event_id;
  assert.equal((await postReceipt(bob, 'm.read', reply, { thread_id: older })).status, 200);
  const wrongThread = await postReceipt(bob, 'm.read', newer, { thread_id: older });
  await assertRefusal(wrongThread, { status: 400, errcode: 'M_INVALID_PARAM', method: 'POST', path: receiptPath(roomId, 'm.read', newer) });
  const threaded = await syncOnce(server, alice, { since: start.next_batch });
  const content = receiptsIn(threaded, roomId)!;
  assert.deepEqual(content[older]['m.read'][bob.userId].thread_id, 'main');
  assert.equal(content[newer]['m.read'][bob.userId].thread_id, undefined);
  assert.equal(content[reply]['m.read'][bob.userId].thread_id, older);
  await assertEventMatchesSpec({ type: 'm.receipt', content, room_id: roomId });
});

test('m.fully_read and read_markers: the marker is room account data, the receipts go with it', async () => {
  const marked = await say(server, alice, roomId, 'marked');
  const start = await syncOnce(server, bob);
  assert.equal((await postReceipt(bob, 'm.fully_read', marked)).status, 200);
  const stored = await userRequest(server, bob, 'GET', accountDataPath(bob.userId, 'm.fully_read', roomId));
  assert.deepEqual(stored.body, { event_id: marked });
  const next = await syncOnce(server, bob, { since: start.next_batch });
  assert.deepEqual(next.rooms.join[roomId].account_data.events, [{ type: 'm.fully_read', content: { event_id: marked } }]);
  await assertEventMatchesSpec({ ...next.rooms.join[roomId].account_data.events[0], room_id: roomId });
  assert.equal(receiptsIn(next, roomId), undefined, 'm.fully_read is not a receipt');

  const latest = await say(server, alice, roomId, 'latest');
  const markers = await request(server.url, 'POST', markersPath(roomId), { token: bob.accessToken, body: { 'm.fully_read': latest, 'm.read': latest, 'm.read.private': latest } });
  assert.equal(markers.status, 200);
  await assertMatchesSpec({ method: 'POST', path: markersPath(roomId), status: 200, body: markers.body });
  const after = await syncOnce(server, bob, { since: next.next_batch });
  assert.deepEqual(after.rooms.join[roomId].account_data.events, [{ type: 'm.fully_read', content: { event_id: latest } }]);
  const content = receiptsIn(after, roomId)!;
  assert.ok(content[latest]['m.read'][bob.userId]);
  assert.ok(content[latest]['m.read.private'][bob.userId]);
});

test('a long-polling sync wakes for a receipt', async () => {
  const event = await say(server, alice, roomId, 'wake');
  const start = await syncOnce(server, alice);
  const polling = syncOnce(server, alice, { since: start.next_batch, timeout: '30000' });
  await postReceipt(bob, 'm.read', event);
  const woken = await polling;
  assert.ok(receiptsIn(woken, roomId)?.[event]['m.read'][bob.userId]);
});

test('refusals: unknown events, events of another room, rooms one is not in, bad thread IDs change nothing', async () => {
  const event = await say(server, alice, roomId, 'target');
  const otherRoom = await createRoom(server, carol);
  const otherEvent = await say(server, carol, otherRoom, 'elsewhere');
  const before = await userDataSnapshot(server);
  const cases: Array<{ user: TestUser; type: string; eventId: string; body?: unknown; room?: string; status: number; errcode: string }> = [
    { user: bob, type: 'm.read', eventId: '$unknown', status: 404, errcode: 'M_NOT_FOUND' },
    { user: bob, type: 'm.read', eventId: otherEvent, status: 404, errcode: 'M_NOT_FOUND' },
    { user: bob, type: 'm.read', eventId: otherEvent, room: otherRoom, status: 403, errcode: 'M_FORBIDDEN' },
    { user: carol, type: 'm.read', eventId: event, status: 403, errcode: 'M_FORBIDDEN' },
    { user: carol, type: 'm.fully_read', eventId: event, status: 403, errcode: 'M_FORBIDDEN' },
    { user: bob, type: 'm.fully_read', eventId: event, body: { thread_id: 'main' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, type: 'm.read', eventId: event, body: { thread_id: '' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, type: 'm.read', eventId: event, body: { thread_id: 'sideways' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, type: 'm.read', eventId: event, body: { thread_id: 7 }, status: 400, errcode: 'M_BAD_JSON' },
    { user: bob, type: 'm.unheard_of', eventId: event, status: 400, errcode: 'M_INVALID_PARAM' },
  ];
  for (const refusal of cases) {
    const room = refusal.room ?? roomId;
    const result = await postReceipt(refusal.user, refusal.type, refusal.eventId, refusal.body ?? {}, room);
    await assertRefusal(result, { ...refusal, method: 'POST', path: receiptPath(room, refusal.type, refusal.eventId), checkSpec: refusal.status === 400 });
  }
  // read_markers checks every event before writing any: the good m.fully_read is not stored either.
  const markers = await request(server.url, 'POST', markersPath(roomId), { token: bob.accessToken, body: { 'm.fully_read': event, 'm.read': '$unknown' } });
  await assertRefusal(markers, { status: 404, errcode: 'M_NOT_FOUND', method: 'POST', path: markersPath(roomId), checkSpec: false });
  const outsider = await request(server.url, 'POST', markersPath(roomId), { token: carol.accessToken, body: { 'm.read': event } });
  await assertRefusal(outsider, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: markersPath(roomId), checkSpec: false });
  assert.deepEqual(await userDataSnapshot(server), before);
});
