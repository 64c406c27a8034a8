import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomMemberEvent, type MatrixClient } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { nextTimelineEvent, quietMatrixSdk, startSyncedClient } from '../support/js-sdk.ts';
import { waitFor } from '../support/wait-for.ts';

quietMatrixSdk();

let server: TestServer;
const clients: MatrixClient[] = [];
before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const client of clients) client.stopClient();
  await server.stop();
});

async function startedClient(user: TestUser, options: { threadSupport?: boolean } = {}): Promise<MatrixClient> {
  const client = await startSyncedClient(server.url, user, options);
  clients.push(client);
  return client;
}

test('two matrix-js-sdk clients create a room, invite, join and chat both ways through sync', async () => {
  const aliceUser = await registerUser(server.url, 'alice');
  const bobUser = await registerUser(server.url, 'bob');
  const alice = await startedClient(aliceUser);
  const bob = await startedClient(bobUser);

  const invited = new Promise<string>((resolve) => {
    bob.on(RoomMemberEvent.Membership, (_event, member) => {
      if (member.userId === bobUser.userId && member.membership === 'invite') resolve(member.roomId);
    });
  });
  const { room_id: roomId } = await alice.createRoom({ name: 'Planning', preset: 'private_chat' as never });
  await alice.invite(roomId, bobUser.userId);
  assert.equal(await invited, roomId, 'bob sees the invite through sync');

  const aliceSeesJoin = new Promise<void>((resolve) => {
    alice.on(RoomMemberEvent.Membership, (_event, member) => {
      if (member.roomId === roomId && member.userId === bobUser.userId && member.membership === 'join') resolve();
    });
  });
  await bob.joinRoom(roomId);
  await aliceSeesJoin;

  const bobReceives = nextTimelineEvent(bob, roomId, (event) => event.getType() === 'm.room.message' && event.getSender() === aliceUser.userId);
  await alice.sendTextMessage(roomId, 'Hello Bob');
  assert.equal((await bobReceives).getContent().body, 'Hello Bob');

  const aliceReceives = nextTimelineEvent(alice, roomId, (event) => event.getType() === 'm.room.message' && event.getSender() === bobUser.userId);
  await bob.sendTextMessage(roomId, 'Hi Alice');
  assert.equal((await aliceReceives).getContent().body, 'Hi Alice');

  const room = bob.getRoom(roomId);
  assert.equal(room?.name, 'Planning');
  const bodies = room!.getLiveTimeline().getEvents().filter((event) => event.getType() === 'm.room.message').map((event) => event.getContent().body);
  assert.deepEqual(bodies, ['Hello Bob', 'Hi Alice']);
});

test('an edit, a thread reply and a reaction reach the other client through sync, and a fresh client sees them bundled', async () => {
  const aliceUser = await registerUser(server.url, 'alice-relations');
  const bobUser = await registerUser(server.url, 'bob-relations');
  const alice = await startedClient(aliceUser);
  const bob = await startedClient(bobUser);
  const { room_id: roomId } = await alice.createRoom({ name: 'Lunch', preset: 'public_chat' as never });
  await bob.joinRoom(roomId);

  const bobSeesRoot = nextTimelineEvent(bob, roomId, (event) => event.getContent().body === 'Lunch at noon?');
  const { event_id: rootId } = await alice.sendTextMessage(roomId, 'Lunch at noon?');
  await bobSeesRoot;

  const bobSeesEdit = nextTimelineEvent(bob, roomId, (event) => event.getWireContent()['m.relates_to']?.rel_type === 'm.replace');
  const { event_id: editId } = await alice.sendEvent(roomId, 'm.room.message' as never, {
    msgtype: 'm.text',
    body: '* Lunch at one?',
    'm.new_content': { msgtype: 'm.text', body: 'Lunch at one?' },
    'm.relates_to': { rel_type: 'm.replace', event_id: rootId },
  } as never);
  assert.equal((await bobSeesEdit).getId(), editId);
  assert.equal(bob.getRoom(roomId)!.findEventById(rootId)!.getContent().body, 'Lunch at one?', 'bob\'s client applied the edit');

  const bobSeesReply = nextTimelineEvent(bob, roomId, (event) => event.getWireContent()['m.relates_to']?.rel_type === 'm.thread');
  const { event_id: replyId } = await alice.sendEvent(roomId, 'm.room.message' as never, {
    msgtype: 'm.text',
    body: 'I can bring sandwiches',
    'm.relates_to': { rel_type: 'm.thread', event_id: rootId, is_falling_back: true, 'm.in_reply_to': { event_id: rootId } },
  } as never);
  assert.equal((await bobSeesReply).getId(), replyId);

  const aliceSeesReaction = nextTimelineEvent(alice, roomId, (event) => event.getType() === 'm.reaction');
  const { event_id: reactionId } = await bob.sendEvent(roomId, 'm.reaction' as never, { 'm.relates_to': { rel_type: 'm.annotation', event_id: rootId, key: '👍' } } as never);
  const reaction = await aliceSeesReaction;
  assert.equal(reaction.getId(), reactionId);
  assert.equal(reaction.getRelation()?.event_id, rootId);

  // A second device of Bob's starts from scratch with threads on: the edit comes bundled, the thread comes from /threads and /relations.
  const login = await fetch(`${server.url}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: bobUser.userId }, password: bobUser.password }),
  }).then((response) => response.json() as Promise<{ access_token: string; device_id: string }>);
  const fresh = await startedClient({ ...bobUser, accessToken: login.access_token, deviceId: login.device_id }, { threadSupport: true });
  const room = fresh.getRoom(roomId)!;
  const root = room.findEventById(rootId)!;
  assert.equal(root.replacingEventId(), editId);
  assert.equal(root.getContent().body, 'Lunch at one?', 'the bundled edit is applied without the edit in the timeline');
  assert.equal(root.getServerAggregatedRelation<{ count: number }>('m.thread')?.count, 1);
  const thread = await waitFor('the thread on the fresh client', async () => room.getThread(rootId) ?? undefined);
  // Wait for the client's own fetches (/relations, /event) to end, so none is cut off by the shutdown.
  await waitFor('the thread\'s events to be fetched', async () => (thread.initialEventsFetched ? true : undefined));
  assert.ok(thread.timeline.some((event) => event.getId() === replyId), 'the reply, fetched through /relations');
  assert.equal(thread.length, 1);
});
