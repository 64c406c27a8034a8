import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say, sendMessage } from '../support/rooms.ts';
import { startFakePushGateway, type FakePushGateway } from '../support/push-gateway.ts';
import { assertMatchesSpec, assertRequestMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { waitFor } from '../support/wait-for.ts';
import { sql } from 'kysely';
import { PUSH_PRUNE_JOB } from '../../server/push/prune-job.ts';

let server: TestServer;
let gateway: FakePushGateway;
let alice: TestUser;
let bob: TestUser;
let roomId: string;

before(async () => {
  gateway = await startFakePushGateway();
  server = await startTestServer({ push: { allowed_http_gateway_hosts: ['127.0.0.1'] }, ip_range_whitelist: ['127.0.0.1/32'] });
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
});
after(async () => {
  await server.stop();
  await gateway.stop();
});

const setPusher = (user: TestUser, body: Record<string, unknown>) =>
  request(server.url, 'POST', '/_matrix/client/v3/pushers/set', {
    token: user.accessToken,
    body: { kind: 'http', app_id: 'org.example.app', app_display_name: 'Example', device_display_name: 'Phone', lang: 'en', ...body },
  });
const notifications = (user: TestUser, query = '') => request(server.url, 'GET', `/_matrix/client/v3/notifications${query}`, { token: user.accessToken });

test('a mention is pushed to the gateway, retried with backoff after a 500, in the Push Gateway API format', async () => {
  assert.equal((await setPusher(bob, { pushkey: 'bob-key', data: { url: gateway.url, custom: 'x' } })).status, 200);
  gateway.script.push({ status: 500, pushkey: 'bob-key' });
  const mention = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'Bob, lunch?', 'm.mentions': { user_ids: [bob.userId] } });
  const mentionId = mention.body.event_id as string;

  const delivered = await waitFor('the notification to be accepted on retry', async () => (gateway.received.some((push) => push.status === 200) ? gateway.received : undefined));
  assert.equal(delivered[0].status, 500, 'the first attempt got the 500');
  assert.deepEqual(delivered[1].body, delivered[0].body, 'the retry sends the same notification');
  const body = delivered[1].body;
  await assertRequestMatchesSpec({ api: 'push-gateway', method: 'POST', path: '/_matrix/push/v1/notify', body });
  const { notification } = body;
  assert.equal(notification.event_id, mentionId);
  assert.equal(notification.room_id, roomId);
  assert.equal(notification.type, 'm.room.message');
  assert.equal(notification.sender, alice.userId);
  assert.equal(notification.content.body, 'Bob, lunch?');
  assert.equal(notification.prio, 'high');
  assert.equal(notification.counts.unread, 1);
  assert.deepEqual(notification.devices.length, 1);
  const [device] = notification.devices;
  assert.equal(device.app_id, 'org.example.app');
  assert.equal(device.pushkey, 'bob-key');
  assert.deepEqual(device.data, { custom: 'x' }, 'data is forwarded without url');
  assert.equal(device.tweaks.highlight, true);
  assert.equal(device.tweaks.sound, 'default');
  assert.ok(Number.isInteger(device.pushkey_ts) && device.pushkey_ts > 1_600_000_000 && device.pushkey_ts < 10_000_000_000, 'pushkey_ts in seconds');

  // Alice's own message is never pushed to her, and bob's pusher has nothing more to send.
  const before = gateway.received.length;
  await say(server, bob, roomId, 'sure');
  const later = await say(server, alice, roomId, 'great');
  await waitFor('the plain message push', async () => (gateway.received.some((push) => push.body.notification.event_id === later) ? true : undefined));
  assert.deepEqual(gateway.received.slice(before).map((push) => push.body.notification.event_id), [later], 'bob’s own message was not pushed; alice’s was, once');
  assert.equal(gateway.received.at(-1)!.body.notification.prio, 'low');
  assert.equal(gateway.received.at(-1)!.body.notification.counts.unread, 1, 'bob’s own reply marked the mention read; only the new message is unread');
});

test('/notifications lists what push rules notified, newest first, with only=highlight, read flags and pagination', async () => {
  const list = await notifications(bob);
  assert.equal(list.status, 200);
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/notifications', status: 200, body: list.body });
  const bodies = list.body.notifications.map((entry: any) => entry.event.content.body);
  assert.deepEqual(bodies, ['great', 'Bob, lunch?']);
  const [great, mention] = list.body.notifications;
  assert.equal(mention.room_id, roomId);
  assert.ok(mention.actions.includes('notify'));
  assert.equal(mention.read, true, 'bob replied after it');
  assert.equal(great.read, false);

  const highlights = await notifications(bob, '?only=highlight');
  assert.deepEqual(highlights.body.notifications.map((entry: any) => entry.event.content.body), ['Bob, lunch?']);

  const first = await notifications(bob, '?limit=1');
  assert.deepEqual(first.body.notifications.map((entry: any) => entry.event.content.body), ['great']);
  assert.equal(typeof first.body.next_token, 'string');
  const second = await notifications(bob, `?limit=1&from=${encodeURIComponent(first.body.next_token)}`);
  assert.deepEqual(second.body.notifications.map((entry: any) => entry.event.content.body), ['Bob, lunch?']);

  const aliceList = await notifications(alice);
  assert.ok(!aliceList.body.notifications.some((entry: any) => entry.event.sender === alice.userId), 'one’s own messages never notify');

  const path = '/_matrix/client/v3/notifications';
  await assertRefusal(await notifications(bob, '?from=garbage'), { status: 400, errcode: 'M_INVALID_PARAM', method: 'GET', path, checkSpec: false });
  await assertRefusal(await notifications(bob, '?limit=0'), { status: 400, errcode: 'M_INVALID_PARAM', method: 'GET', path, checkSpec: false });
  await assertRefusal(await notifications(bob, '?limit=1000'), { status: 400, errcode: 'M_INVALID_PARAM', method: 'GET', path, checkSpec: false });
  await assertRefusal(await request(server.url, 'GET', path), { status: 401, errcode: 'M_MISSING_TOKEN', method: 'GET', path, checkSpec: false });
});

test('format event_id_only sends IDs and counts only; a rejected pushkey removes the pusher', async () => {
  const carol = await registerUser(server.url, 'carol');
  await roomPost(server, carol, roomId, 'join');
  assert.equal((await setPusher(carol, { pushkey: 'carol-key', data: { url: gateway.url, format: 'event_id_only' } })).status, 200);
  gateway.script.push({ status: 200, rejected: ['carol-key'], pushkey: 'carol-key' });
  const eventId = await say(server, alice, roomId, 'carol: secret plans');
  const push = await waitFor('carol’s push', async () => gateway.received.find((entry) => entry.body.notification.devices[0].pushkey === 'carol-key'));
  await assertRequestMatchesSpec({ api: 'push-gateway', method: 'POST', path: '/_matrix/push/v1/notify', body: push.body });
  assert.deepEqual(Object.keys(push.body.notification).sort(), ['counts', 'devices', 'event_id', 'prio', 'room_id']);
  assert.equal(push.body.notification.event_id, eventId);
  assert.deepEqual(push.body.notification.devices[0].data, { format: 'event_id_only' });

  await waitFor('the rejected pusher to be removed', async () => {
    const list = await request(server.url, 'GET', '/_matrix/client/v3/pushers', { token: carol.accessToken });
    return list.body.pushers.length === 0 ? true : undefined;
  });
});

test('encrypted rooms: the gateway gets the ciphertext event as stored, never plaintext', async () => {
  const dave = await registerUser(server.url, 'dave');
  const secretRoom = await createRoom(server, alice, { preset: 'private_chat', invite: [dave.userId], initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  await roomPost(server, dave, secretRoom, 'join');
  assert.equal((await setPusher(dave, { pushkey: 'dave-key', data: { url: gateway.url } })).status, 200);
  const ciphertext = { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgAEnAC', device_id: 'ALICEDEV', sender_key: 'c2VuZGVya2V5', session_id: 'c2Vzc2lvbg' };
  const sent = await sendMessage(server, alice, secretRoom, ciphertext, 'enc1', 'm.room.encrypted');
  assert.equal(sent.status, 200);
  const push = await waitFor('dave’s push', async () => gateway.received.find((entry) => entry.body.notification.devices[0].pushkey === 'dave-key'));
  assert.equal(push.body.notification.type, 'm.room.encrypted');
  assert.deepEqual(push.body.notification.content, ciphertext);
});

test('a pusher never sends an event sent before it was set, even when that event is evaluated after', async () => {
  const frank = await registerUser(server.url, 'frank');
  const room = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, frank, room, 'join');
  const early = await say(server, alice, room, 'before the pusher');
  assert.equal((await setPusher(frank, { pushkey: 'frank-key', data: { url: gateway.url } })).status, 200);
  // Evaluation runs behind the stream: record the early event's notification after the pusher exists, as a late evaluation would.
  const { rows } = await sql<{ stream_ordering: string }>`SELECT stream_ordering FROM events WHERE event_id = ${early}`.execute(server.app.db);
  await sql`INSERT INTO push_notifications (user_id, room_id, event_id, stream_ordering, actions, highlight, ts, thread_id)
    VALUES (${frank.userId}, ${room}, ${early}, ${rows[0].stream_ordering}, '["notify"]'::jsonb, false, ${Date.now()}, 'main')
    ON CONFLICT (user_id, event_id) DO UPDATE SET id = nextval(pg_get_serial_sequence('push_notifications', 'id'))`.execute(server.app.db);
  const later = await say(server, alice, room, 'after the pusher');
  await waitFor('the later message’s push', async () => (gateway.received.some((push) => push.body.notification.event_id === later) ? true : undefined));
  const pushed = gateway.received.filter((push) => push.body.notification.devices[0].pushkey === 'frank-key').map((push) => push.body.notification.event_id);
  assert.deepEqual(pushed, [later], 'only the message sent after the pusher was set');
});

test('an invite is pushed to the invitee (high priority, user_is_target) and listed in their /notifications', async () => {
  const erin = await registerUser(server.url, 'erin');
  assert.equal((await setPusher(erin, { pushkey: 'erin-key', data: { url: gateway.url } })).status, 200);
  const otherRoom = await createRoom(server, alice, { preset: 'private_chat' });
  assert.equal((await roomPost(server, alice, otherRoom, 'invite', { user_id: erin.userId })).status, 200);
  const push = await waitFor('erin’s invite push', async () => gateway.received.find((entry) => entry.body.notification.devices[0].pushkey === 'erin-key'));
  await assertRequestMatchesSpec({ api: 'push-gateway', method: 'POST', path: '/_matrix/push/v1/notify', body: push.body });
  assert.equal(push.body.notification.type, 'm.room.member');
  assert.equal(push.body.notification.room_id, otherRoom);
  assert.equal(push.body.notification.user_is_target, true);
  assert.equal(push.body.notification.prio, 'high');
  assert.equal(push.body.notification.content.membership, 'invite');
  const list = await notifications(erin);
  assert.deepEqual(list.body.notifications.map((entry: any) => entry.room_id), [otherRoom]);
});

test('notifications older than the retention are pruned by the push.prune job; newer ones stay', async () => {
  const before = (await notifications(bob)).body.notifications.length;
  assert.ok(before >= 2);
  const oldest = await server.app.db.selectFrom('push_notifications').select('id').where('user_id', '=', bob.userId).orderBy('id').executeTakeFirstOrThrow();
  await server.app.db.updateTable('push_notifications').set({ ts: Date.now() - 31 * 24 * 3_600_000 }).where('id', '=', oldest.id).execute();
  await server.app.jobs.enqueue(PUSH_PRUNE_JOB, {});
  await waitFor('the prune', async () => ((await notifications(bob)).body.notifications.length === before - 1 ? true : undefined));
  const rows = await server.app.db.selectFrom('push_notifications').select('id').where('id', '=', oldest.id).execute();
  assert.deepEqual(rows, []);
});
