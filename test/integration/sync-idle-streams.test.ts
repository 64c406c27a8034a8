import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say, syncOnce } from '../support/rooms.ts';
import { putAccountData } from '../support/user-data.ts';
import { waitFor } from '../support/wait-for.ts';
import { testDevice } from '../support/e2ee-keys.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';

/**
 * An incremental /sync runs a stream's provider only when a stream it follows
 * moved since the token (or since the long-poll's last empty pass). Each kind
 * of change must still wake a parked long-poll and be in its answer, including
 * those a provider learns of through another stream (device lists through
 * room memberships).
 */

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
/** Messages, receipts, typing: an unencrypted room (an encrypted one refuses plaintext). */
let roomId: string;
/** Device lists follow shared encrypted rooms. */
let encryptedRoomId: string;

const ENCRYPTION = { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } };

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  roomId = await createRoom(server, alice, { preset: 'public_chat' });
  encryptedRoomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [ENCRYPTION] });
  for (const room of [roomId, encryptedRoomId]) assert.equal((await roomPost(server, bob, room, 'join')).status, 200);
});
after(() => server.stop());

/** Bob's long-poll from a fresh token, parked before `change` runs; returns the response that answered it. */
async function wokenBy(change: () => Promise<void>, query: Record<string, string> = {}): Promise<any> {
  const since = (await syncOnce(server, bob, { timeout: '0', ...query })).next_batch;
  const path = `/_matrix/client/v3/sync?${new URLSearchParams({ since, timeout: '60000', ...query })}`;
  const polling = request(server.url, 'GET', path, { token: bob.accessToken });
  await waitFor('the long-poll to park', async () => (server.app.notifier.waitingFor(bob.userId) === 1 ? true : undefined));
  await change();
  const woken = await polling;
  assert.equal(woken.status, 200, JSON.stringify(woken.body));
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: woken.body });
  return woken.body;
}

const ok = async (result: Promise<{ status: number; body: unknown }>) => {
  const { status, body } = await result;
  assert.equal(status, 200, JSON.stringify(body));
};

test('a new message arrives, and the response still carries the one-time key counts', async () => {
  let eventId = '';
  const body = await wokenBy(async () => {
    eventId = await say(server, alice, roomId, 'hello bob');
  });
  assert.deepEqual(
    body.rooms.join[roomId].timeline.events.map((event: any) => event.event_id),
    [eventId],
  );
  assert.ok(body.device_one_time_keys_count, 'key counts are in every response, whichever streams moved');
  assert.ok(Array.isArray(body.device_unused_fallback_key_types));
});

test('a to-device message arrives', async () => {
  const body = await wokenBy(() =>
    ok(request(server.url, 'PUT', '/_matrix/client/v3/sendToDevice/org.example.idle/t1', { token: alice.accessToken, body: { messages: { [bob.userId]: { [bob.deviceId]: { n: 1 } } } } })),
  );
  assert.deepEqual(body.to_device.events, [{ sender: alice.userId, type: 'org.example.idle', content: { n: 1 } }]);
});

test('a peer uploading device keys arrives in device_lists (the device-list stream)', async () => {
  const body = await wokenBy(() => ok(request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: alice.accessToken, body: { device_keys: testDevice(alice.userId, alice.deviceId).deviceKeys } })));
  assert.deepEqual(body.device_lists, { changed: [alice.userId], left: [] });
});

test('a user joining a shared encrypted room arrives in device_lists through the room stream alone', async () => {
  const carol = await registerUser(server.url, 'carol');
  const body = await wokenBy(() => ok(roomPost(server, carol, encryptedRoomId, 'join')));
  assert.deepEqual(body.device_lists, { changed: [carol.userId], left: [] });
});

test('global and room account data arrive', async () => {
  const global = await wokenBy(() => putAccountData(server, bob, 'org.example.setting', { on: true }));
  assert.deepEqual(global.account_data.events, [{ type: 'org.example.setting', content: { on: true } }]);
  const inRoom = await wokenBy(() => putAccountData(server, bob, 'org.example.room-setting', { on: false }, roomId));
  assert.deepEqual(inRoom.rooms.join[roomId].account_data.events, [{ type: 'org.example.room-setting', content: { on: false } }]);
});

test("a peer's read receipt arrives, and the user's own receipt brings the room's new unread counts", async () => {
  const eventId = await say(server, alice, roomId, 'read me');
  const peer = await wokenBy(() => ok(roomPost(server, alice, roomId, `receipt/m.read/${encodeURIComponent(eventId)}`)));
  assert.ok(peer.rooms.join[roomId].ephemeral.events.some((event: any) => event.type === 'm.receipt' && event.content[eventId]?.['m.read']?.[alice.userId]));

  const before = await syncOnce(server, bob, { timeout: '0' });
  assert.ok(before.rooms.join[roomId].unread_notifications.notification_count > 0, 'unread before the receipt');
  const own = await wokenBy(() => ok(roomPost(server, bob, roomId, `receipt/m.read/${encodeURIComponent(eventId)}`)));
  assert.deepEqual(own.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
});

test('typing arrives', async () => {
  const body = await wokenBy(() =>
    ok(request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 30_000 } })),
  );
  assert.deepEqual(body.rooms.join[roomId].ephemeral.events, [{ type: 'm.typing', content: { user_ids: [alice.userId] } }]);
  await ok(request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken, body: { typing: false } }));
});

test("a peer's presence change arrives", async () => {
  const body = await wokenBy(() => ok(request(server.url, 'PUT', `/_matrix/client/v3/presence/${encodeURIComponent(alice.userId)}/status`, { token: alice.accessToken, body: { presence: 'unavailable', status_msg: 'away' } })));
  const event = body.presence.events.find((entry: any) => entry.sender === alice.userId);
  assert.equal(event?.content.presence, 'unavailable');
  assert.equal(event?.content.status_msg, 'away');
});

test('a long-poll woken by a change its filter leaves out keeps waiting, then answers with the next change it wants', async () => {
  const noPresence = { filter: JSON.stringify({ presence: { types: [] } }) };
  let eventId = '';
  const body = await wokenBy(async () => {
    await ok(request(server.url, 'PUT', `/_matrix/client/v3/presence/${encodeURIComponent(alice.userId)}/status`, { token: alice.accessToken, body: { presence: 'online' } }));
    // The presence change woke the long-poll, which found nothing it wants and parked again.
    await waitFor('the long-poll to park again', async () => (server.app.notifier.waitingFor(bob.userId) === 1 ? true : undefined));
    eventId = await say(server, alice, roomId, 'after presence');
  }, noPresence);
  assert.equal(body.presence, undefined);
  assert.deepEqual(
    body.rooms.join[roomId].timeline.events.map((event: any) => event.event_id),
    [eventId],
  );
});

test('the room summary comes on an initial sync and again when membership changes, not with every message', async () => {
  const initial = await syncOnce(server, bob, { timeout: '0' });
  const joinedBefore = initial.rooms.join[roomId].summary['m.joined_member_count'];
  assert.ok(joinedBefore >= 2);
  const message = await wokenBy(async () => {
    await say(server, alice, roomId, 'no membership change');
  });
  assert.equal(message.rooms.join[roomId].summary, undefined, 'unchanged: left out, the client keeps the last one');
  const dave = await registerUser(server.url, 'dave');
  const joined = await wokenBy(() => ok(roomPost(server, dave, roomId, 'join')));
  assert.equal(joined.rooms.join[roomId].summary['m.joined_member_count'], joinedBefore + 1);
  const fullState = await syncOnce(server, bob, { since: joined.next_batch, timeout: '0', full_state: 'true' });
  assert.equal(fullState.rooms.join[roomId].summary['m.joined_member_count'], joinedBefore + 1);
});

test('listeners woken by the same send each get the message, with their own transaction id only for the sender', async () => {
  const listeners = await Promise.all(['erin', 'frank', 'grace'].map((name) => registerUser(server.url, name)));
  for (const user of listeners) await ok(roomPost(server, user, roomId, 'join'));
  const tokens = await Promise.all([alice, ...listeners].map(async (user) => (await syncOnce(server, user, { timeout: '0' })).next_batch));
  const polls = [alice, ...listeners].map((user, i) =>
    // Without presence: the listeners' own first syncs set them online, which would answer the others at once.
    request(server.url, 'GET', `/_matrix/client/v3/sync?${new URLSearchParams({ since: tokens[i], timeout: '60000', filter: JSON.stringify({ presence: { types: [] } }) })}`, { token: user.accessToken }),
  );
  for (const user of [alice, ...listeners]) await waitFor('every long-poll to park', async () => (server.app.notifier.waitingFor(user.userId) === 1 ? true : undefined));
  const eventId = await say(server, alice, roomId, 'to everyone');
  const bodies = (await Promise.all(polls)).map((result) => result.body);
  for (const body of bodies) {
    const event = body.rooms.join[roomId].timeline.events.find((entry: any) => entry.event_id === eventId);
    assert.equal(event?.content.body, 'to everyone');
  }
  assert.ok(bodies[0].rooms.join[roomId].timeline.events.find((entry: any) => entry.event_id === eventId).unsigned.transaction_id, 'the sender sees its transaction id');
  for (const body of bodies.slice(1)) assert.equal(body.rooms.join[roomId].timeline.events.find((entry: any) => entry.event_id === eventId).unsigned.transaction_id, undefined);
});
