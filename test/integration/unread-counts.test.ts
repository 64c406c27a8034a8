import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';
import { putAccountData } from '../support/user-data.ts';

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
