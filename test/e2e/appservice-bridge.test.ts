import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { AppServiceRegistration, Bridge, type WeakEvent } from 'matrix-appservice-bridge';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomGet, say } from '../support/rooms.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';
import { waitFor } from '../support/wait-for.ts';

/**
 * An appservice written with matrix-appservice-bridge (the library our own
 * bridges use) against the real server: its bot, ghost users created on demand
 * through intents, joining, sending, and receiving a real user's messages
 * through transactions.
 */
let server: TestServer;
let bridge: Bridge;
let alice: TestUser;
const received: WeakEvent[] = [];
/** What the bridge's ephemeral handler got (typing, receipts, presence: MSC2409). */
const ephemeral: Array<{ type: string; room_id?: string; content: any }> = [];

/** A free port for the bridge: its URL goes into the registration before the server starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolveListen) => probe.listen(0, '127.0.0.1', resolveListen));
  const { port } = probe.address() as { port: number };
  await new Promise((resolveClose) => probe.close(resolveClose));
  return port;
}

before(async () => {
  const port = await freePort();
  const registration = makeRegistration('chatbridge', {
    url: `http://127.0.0.1:${port}`,
    sender_localpart: 'chatbridge',
    namespaces: { users: [{ regex: '@chatbridge_.*:localhost', exclusive: true }], aliases: [], rooms: [] },
    rate_limited: false,
    // The name matrix-appservice-bridge reads and writes for MSC2409.
    'de.sorunome.msc2409.push_ephemeral': true,
  });
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([registration]) });
  alice = await registerUser(server.url, 'alice');
  bridge = new Bridge({
    homeserverUrl: server.url,
    domain: 'localhost',
    registration: AppServiceRegistration.fromObject(registration as never),
    disableStores: true,
    disableContext: true,
    controller: {
      onEvent: (bridgeRequest) => void received.push(bridgeRequest.getData()),
      onEphemeralEvent: (bridgeRequest) => void ephemeral.push(bridgeRequest.getData() as never),
    },
  });
  await bridge.initialise();
  await bridge.listen(port, '127.0.0.1');
});

after(async () => {
  await bridge?.close();
  await server?.stop();
});

test('matrix-appservice-bridge: ghosts are created on demand, join, send, and the bridge receives a real user’s messages', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Bridged' });

  // The bot joins (its user exists from start-up) and a ghost is registered on first use by its intent.
  await bridge.getIntent().join(roomId);
  const ghost = bridge.getIntent('@chatbridge_telegram_42:localhost');
  await ghost.join(roomId);
  await ghost.sendText(roomId, 'hello from Telegram');

  const messages = await roomGet(server, alice, roomId, 'messages?dir=b&limit=20');
  const fromGhost = messages.body.chunk.find((event: any) => event.type === 'm.room.message' && event.sender === '@chatbridge_telegram_42:localhost');
  assert.equal(fromGhost?.content.body, 'hello from Telegram');
  const ghostRow = await server.app.db.selectFrom('users').select(['user_id', 'appservice_id']).where('user_id', '=', '@chatbridge_telegram_42:localhost').executeTakeFirst();
  assert.deepEqual(ghostRow, { user_id: '@chatbridge_telegram_42:localhost', appservice_id: 'chatbridge' });

  await say(server, alice, roomId, 'hello from Matrix');
  const heard = await waitFor('the bridge to receive alice’s message', async () =>
    received.find((event) => event.type === 'm.room.message' && event.sender === alice.userId && event.room_id === roomId),
  );
  assert.equal((heard.content as { body: string }).body, 'hello from Matrix');
  // Its own users' events are delivered too, but the library hides them from onEvent (suppressEcho).
  assert.ok(!received.some((event) => event.sender === '@chatbridge_telegram_42:localhost'));
});

test('matrix-appservice-bridge: a ghost outside the namespace is refused', async () => {
  const stranger = bridge.getIntent('@somebody_else:localhost');
  await assert.rejects(stranger.ensureRegistered(), (error: { errcode?: string; body?: { errcode?: string } }) => {
    return (error.errcode ?? error.body?.errcode) === 'M_EXCLUSIVE';
  });
  const row = await server.app.db.selectFrom('users').select('user_id').where('user_id', '=', '@somebody_else:localhost').executeTakeFirst();
  assert.equal(row, undefined);
});

test('matrix-appservice-bridge: the bridge pings itself through the homeserver', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await bridge.getIntent().join(roomId);
  // The library's health check: the homeserver calls the bridge's /_matrix/app/v1/ping.
  const durationMs = await bridge.pingAppserviceRoute(roomId);
  assert.equal(typeof durationMs, 'number');
});

test('matrix-appservice-bridge: typing and read receipts reach the bridge’s ephemeral handler', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await bridge.getIntent().join(roomId);
  const typing = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.userId)}`, {
    token: alice.accessToken,
    body: { typing: true, timeout: 10_000 },
  });
  assert.equal(typing.status, 200);
  const typed = await waitFor('the typing notification', async () =>
    ephemeral.find((event) => event.type === 'm.typing' && event.room_id === roomId && event.content.user_ids.includes(alice.userId)),
  );
  assert.deepEqual(typed.content, { user_ids: [alice.userId] });

  const eventId = await say(server, alice, roomId, 'read me');
  const receipt = await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, { token: alice.accessToken, body: {} });
  assert.equal(receipt.status, 200);
  const read = await waitFor('the read receipt', async () => ephemeral.find((event) => event.type === 'm.receipt' && event.room_id === roomId && event.content[eventId]));
  assert.ok(read.content[eventId]['m.read'][alice.userId], 'alice read it');
});
