import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientEvent, RoomEvent, RoomMemberEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { nextTimelineEvent, quietMatrixSdk, startSyncedClient } from '../support/js-sdk.ts';

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

async function startedClient(user: TestUser): Promise<MatrixClient> {
  const client = await startSyncedClient(server.url, user);
  clients.push(client);
  return client;
}

/** Resolves when `client` reports `userId`'s typing in `roomId` as `typing`. */
function typingSeen(client: MatrixClient, roomId: string, userId: string, typing: boolean): Promise<void> {
  return new Promise((resolve) => {
    const onTyping = (_event: MatrixEvent, member: { roomId: string; userId: string; typing: boolean }) => {
      if (member.roomId !== roomId || member.userId !== userId || member.typing !== typing) return;
      client.off(RoomMemberEvent.Typing, onTyping);
      resolve();
    };
    client.on(RoomMemberEvent.Typing, onTyping);
  });
}

test('two matrix-js-sdk clients see each other’s typing, read receipts and display name changes', async () => {
  const aliceUser = await registerUser(server.url, 'alice');
  const bobUser = await registerUser(server.url, 'bob');
  const alice = await startedClient(aliceUser);
  const bob = await startedClient(bobUser);

  const { room_id: roomId } = await alice.createRoom({ name: 'Ephemeral', preset: 'public_chat' as never });
  const aliceSeesJoin = new Promise<void>((resolve) => {
    alice.on(RoomMemberEvent.Membership, (_event, member) => {
      if (member.roomId === roomId && member.userId === bobUser.userId && member.membership === 'join') resolve();
    });
  });
  await bob.joinRoom(roomId);
  await aliceSeesJoin;

  // Typing: bob sees alice start and stop.
  const startsTyping = typingSeen(bob, roomId, aliceUser.userId, true);
  await alice.sendTyping(roomId, true, 20_000);
  await startsTyping;
  const stopsTyping = typingSeen(bob, roomId, aliceUser.userId, false);
  await alice.sendTyping(roomId, false, 0);
  await stopsTyping;

  // Receipts: bob reads alice's message, and alice's client shows it read up to there.
  const bobReceives = nextTimelineEvent(bob, roomId, (event) => event.getType() === 'm.room.message' && event.getSender() === aliceUser.userId);
  const { event_id: messageId } = await alice.sendTextMessage(roomId, 'Did you read this?');
  const received = await bobReceives;
  assert.equal(received.getId(), messageId);
  const aliceRoom = alice.getRoom(roomId)!;
  const receiptSeen = new Promise<void>((resolve) => {
    const check = () => {
      if (aliceRoom.getUsersReadUpTo(aliceRoom.findEventById(messageId)!).includes(bobUser.userId)) {
        aliceRoom.off(RoomEvent.Receipt, check);
        resolve();
      }
    };
    aliceRoom.on(RoomEvent.Receipt, check);
  });
  await bob.sendReadReceipt(received);
  await receiptSeen;
  assert.equal(aliceRoom.getEventReadUpTo(bobUser.userId), messageId);

  // Display name: alice renames herself; bob's client shows the new name for her.
  const renamed = new Promise<void>((resolve) => {
    bob.on(RoomMemberEvent.Name, (_event, member) => {
      if (member.roomId === roomId && member.userId === aliceUser.userId && member.name === 'Alice in Wonderland') resolve();
    });
  });
  await alice.setDisplayName('Alice in Wonderland');
  await renamed;
  assert.equal(bob.getRoom(roomId)!.getMember(aliceUser.userId)!.name, 'Alice in Wonderland');
  assert.equal((await bob.getProfileInfo(aliceUser.userId)).displayname, 'Alice in Wonderland');

  // Account data: set by alice, delivered back to her client through sync.
  const accountData = new Promise<MatrixEvent>((resolve) => {
    alice.on(ClientEvent.AccountData, (event) => {
      if (event.getType() === 'org.example.e2e') resolve(event);
    });
  });
  await alice.setAccountData('org.example.e2e' as never, { ok: true } as never);
  assert.deepEqual((await accountData).getContent(), { ok: true });
});
