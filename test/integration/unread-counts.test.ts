import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';
import { putAccountData } from '../support/user-data.ts';
import { waitFor } from '../support/wait-for.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const unread = (body: any, roomId: string) => body.rooms.join[roomId]?.unread_notifications;

test('unread counts: messages since the read receipt notify; mentions highlight; notices, edits and one’s own do not', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const start = await syncOnce(server, bob);
  assert.deepEqual(unread(start, roomId), { notification_count: 0, highlight_count: 0 }, 'nothing before one’s own join is unread');

  const hello = await say(server, alice, roomId, 'hello everyone');
  await sendMessage(server, alice, roomId, { msgtype: 'm.notice', body: 'a bot notice' });
  await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'are you there?', 'm.mentions': { user_ids: [bob.userId] } });
  await say(server, alice, roomId, 'Bob, legacy mention by name');
  await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: '* edit', 'm.new_content': { msgtype: 'm.text', body: 'edit' }, 'm.relates_to': { rel_type: 'm.replace', event_id: hello } });
  const last = await say(server, alice, roomId, 'bobcat is not a mention');
  const next = await syncOnce(server, bob, { since: start.next_batch });
  assert.deepEqual(unread(next, roomId), { notification_count: 4, highlight_count: 2 });
  const initial = await syncOnce(server, bob);
  assert.deepEqual(unread(initial, roomId), { notification_count: 4, highlight_count: 2 }, 'an initial sync counts the same');

  // Reading (on any device) clears the counts, and the room comes down with them.
  const read = await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(last)}`, { token: bob.accessToken, body: {} });
  assert.equal(read.status, 200);
  const cleared = await syncOnce(server, bob, { since: next.next_batch });
  assert.deepEqual(unread(cleared, roomId), { notification_count: 0, highlight_count: 0 });

  // One's own message marks what came before it read.
  await say(server, alice, roomId, 'one more');
  await say(server, bob, roomId, 'replying');
  await say(server, alice, roomId, 'and another');
  const afterReply = await syncOnce(server, bob, { since: cleared.next_batch });
  assert.deepEqual(unread(afterReply, roomId), { notification_count: 1, highlight_count: 0 });

  // Ignored users never notify.
  await putAccountData(server, bob, 'm.ignored_user_list', { ignored_users: { [alice.userId]: {} } });
  const ignoring = await syncOnce(server, bob);
  assert.deepEqual(unread(ignoring, roomId), { notification_count: 0, highlight_count: 0 });
});

test('unread counts follow the user’s own push rules: a muted room counts nothing, a sender rule can highlight', async () => {
  const carol = await registerUser(server.url, 'carol');
  const dave = await registerUser(server.url, 'dave');
  const muted = await createRoom(server, carol, { preset: 'public_chat' });
  const loud = await createRoom(server, carol, { preset: 'public_chat' });
  for (const roomId of [muted, loud]) await roomPost(server, dave, roomId, 'join');
  const rule = (kind: string, id: string) => `/_matrix/client/v3/pushrules/global/${kind}/${encodeURIComponent(id)}`;
  assert.equal((await request(server.url, 'PUT', rule('room', muted), { token: dave.accessToken, body: { actions: ['dont_notify'] } })).status, 200);
  assert.equal((await request(server.url, 'PUT', rule('sender', carol.userId), { token: dave.accessToken, body: { actions: ['notify', { set_tweak: 'highlight' }] } })).status, 200);
  await say(server, carol, muted, 'nobody hears this');
  await say(server, carol, loud, 'everybody hears this');
  const body = await syncOnce(server, dave);
  assert.deepEqual(unread(body, muted), { notification_count: 0, highlight_count: 0 });
  assert.deepEqual(unread(body, loud), { notification_count: 1, highlight_count: 1 });
});

test('contains_display_name uses the display name in the room, for counts and for /notifications', async () => {
  const erin = await registerUser(server.url, 'erin');
  const zoe = await registerUser(server.url, 'zoe', { displayname: 'Zephyr' });
  const roomId = await createRoom(server, erin, { preset: 'public_chat' });
  assert.equal((await roomPost(server, zoe, roomId, 'join')).status, 200);
  const member = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(zoe.userId)}`, {
    token: zoe.accessToken,
    body: { membership: 'join', displayname: 'Captain' },
  });
  assert.equal(member.status, 200, JSON.stringify(member.body));
  await say(server, erin, roomId, 'hello Zephyr');
  await say(server, erin, roomId, 'hello captain');
  assert.deepEqual(unread(await syncOnce(server, zoe), roomId), { notification_count: 2, highlight_count: 1 }, 'only the in-room name highlights');
  const highlighted = await waitFor('the push evaluation', async () => {
    const list = await request(server.url, 'GET', '/_matrix/client/v3/notifications?only=highlight', { token: zoe.accessToken });
    return list.body.notifications?.length > 0 ? list.body.notifications : undefined;
  });
  assert.deepEqual(highlighted.map((entry: any) => entry.event.content.body), ['hello captain']);
});

test('encrypted rooms: each m.room.encrypted event notifies (.m.rule.encrypted), never highlights, and the rule can be turned off', async () => {
  const frank = await registerUser(server.url, 'frank');
  const gina = await registerUser(server.url, 'gina');
  const roomId = await createRoom(server, frank, { preset: 'public_chat', initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  for (const user of [gina, alice]) assert.equal((await roomPost(server, user, roomId, 'join')).status, 200);
  const ciphertext = { algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'a2V5', ciphertext: 'gina @room', session_id: 'c2Vz', device_id: 'FRANK' };
  for (const txn of ['e1', 'e2']) assert.equal((await sendMessage(server, frank, roomId, ciphertext, `${roomId}-${txn}`, 'm.room.encrypted')).status, 200);
  assert.deepEqual(unread(await syncOnce(server, gina), roomId), { notification_count: 2, highlight_count: 0 });
  const rule = `/_matrix/client/v3/pushrules/global/underride/.m.rule.encrypted/enabled`;
  assert.equal((await request(server.url, 'PUT', rule, { token: gina.accessToken, body: { enabled: false } })).status, 200);
  assert.deepEqual(unread(await syncOnce(server, gina), roomId), { notification_count: 0, highlight_count: 0 }, 'three members: the one-to-one rule does not apply');
});
