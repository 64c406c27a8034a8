import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, KnownMembership, RoomMemberEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say } from '../support/rooms.ts';
import { nextTimelineEvent, quietMatrixSdk } from '../support/js-sdk.ts';
import { waitFor } from '../support/wait-for.ts';

/**
 * matrix-js-sdk's own SlidingSync class (it speaks the simplified MSC4186
 * endpoint) against the server: the room list, an invite, joining,
 * messages arriving live, and typing through the extension.
 */
quietMatrixSdk();

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const running: Array<{ client: MatrixClient; slidingSync: SlidingSync }> = [];

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(async () => {
  for (const { client, slidingSync } of running) {
    slidingSync.stop();
    client.stopClient();
  }
  await server.stop();
});

async function slidingClient(user: TestUser): Promise<MatrixClient> {
  const client = createClient({ baseUrl: server.url, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
  const lists = new Map([['all', { ranges: [[0, 19]] as Array<[number, number]>, timeline_limit: 10, required_state: [['*', '*']] as string[][] }]]);
  const slidingSync = new SlidingSync(server.url, lists, { timeline_limit: 20, required_state: [['*', '*']] }, client, 5000);
  running.push({ client, slidingSync });
  await client.startClient({ slidingSync });
  return client;
}

test('matrix-js-sdk with SlidingSync: room list, invite, join, live messages and typing', async () => {
  const roomId = await createRoom(server, alice, { preset: 'private_chat', name: 'sliding room' });
  await say(server, alice, roomId, 'before bob');
  await roomPost(server, alice, roomId, 'invite', { user_id: bob.userId });

  const client = await slidingClient(bob);
  const invited = await waitFor('the invite in the room list', async () => client.getRoom(roomId) ?? undefined);
  await waitFor('bob to see he is invited', async () => (invited.getMyMembership() === KnownMembership.Invite ? true : undefined));

  await client.joinRoom(roomId);
  const room = await waitFor('the joined room with its name', async () => {
    const current = client.getRoom(roomId);
    return current?.getMyMembership() === KnownMembership.Join && current.name === 'sliding room' ? current : undefined;
  });
  await waitFor('the history before the join', async () =>
    room.getLiveTimeline().getEvents().some((event) => event.getContent().body === 'before bob') ? true : undefined,
  );

  const live = nextTimelineEvent(client, roomId, (event) => event.getContent().body === 'live message');
  await say(server, alice, roomId, 'live message');
  const event = await live;
  assert.equal(event.getSender(), alice.userId);

  const typing = new Promise<void>((resolve) => {
    const onTyping = (_event: MatrixEvent, member: { roomId: string; userId: string; typing: boolean }) => {
      if (member.roomId === roomId && member.userId === alice.userId && member.typing) resolve();
    };
    client.on(RoomMemberEvent.Typing, onTyping);
  });
  const typed = await fetch(`${server.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ typing: true, timeout: 20_000 }),
  });
  assert.equal(typed.status, 200);
  await typing;
});
