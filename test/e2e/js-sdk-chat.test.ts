import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientEvent, createClient, RoomEvent, RoomMemberEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { quietMatrixSdk } from '../support/js-sdk.ts';

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
  const client = createClient({ baseUrl: server.url, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
  clients.push(client);
  const prepared = new Promise<void>((resolve, reject) => {
    const onSync = (state: SyncState, _previous: SyncState | null, data?: { error?: Error }) => {
      if (state === SyncState.Prepared) {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error) {
        reject(data?.error ?? new Error('sync failed'));
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 10 });
  await prepared;
  return client;
}

/** Resolves with the first timeline event in `roomId` that `match` accepts, as the client sees it through sync. */
function nextTimelineEvent(client: MatrixClient, roomId: string, match: (event: MatrixEvent) => boolean): Promise<MatrixEvent> {
  return new Promise((resolve) => {
    const onTimeline = (event: MatrixEvent, room: Room | undefined) => {
      if (room?.roomId !== roomId || !match(event) || event.status !== null) return;
      client.off(RoomEvent.Timeline, onTimeline);
      resolve(event);
    };
    client.on(RoomEvent.Timeline, onTimeline);
  });
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
