import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientEvent, createClient, RoomEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { initRustCryptoInMemory, quietMatrixSdk } from '../support/js-sdk.ts';
import { waitFor } from '../support/wait-for.ts';

quietMatrixSdk();

/**
 * Real matrix-js-sdk clients with their Rust crypto (matrix-sdk-crypto-wasm,
 * in-memory store) talk through the server: device keys, one-time key
 * claims, Olm-encrypted room keys over to-device, Megolm room events. The
 * server sees only ciphertext.
 */
let server: TestServer;
const clients: MatrixClient[] = [];
before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const client of clients) client.stopClient();
  await server.stop();
});

async function cryptoClient(user: TestUser): Promise<MatrixClient> {
  const client = createClient({ baseUrl: server.url, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
  clients.push(client);
  await initRustCryptoInMemory(client);
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

/** The first event from `sender` in `roomId` the client sees through sync, once its crypto has decrypted it. */
async function decryptedFrom(client: MatrixClient, roomId: string, sender: string, sent: Promise<{ event_id: string }>): Promise<MatrixEvent> {
  const { event_id: eventId } = await sent;
  const event = await waitFor(`${client.getUserId()} to see ${eventId}`, async () => client.getRoom(roomId)?.findEventById(eventId), 20_000);
  assert.equal(event.getSender(), sender);
  assert.equal(event.getWireType(), 'm.room.encrypted', 'it travelled encrypted');
  await waitFor(`${client.getUserId()} to decrypt ${eventId}`, async () => (event.isBeingDecrypted() || event.isDecryptionFailure() ? undefined : true), 20_000);
  return event;
}

/** The event as the server serves it over HTTP, and as it stores it. */
async function rawEvent(user: TestUser, roomId: string, eventId: string) {
  const served = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`, { token: user.accessToken });
  assert.equal(served.status, 200);
  const stored = await server.app.db.selectFrom('events').select('json').where('event_id', '=', eventId).executeTakeFirstOrThrow();
  return { served: served.body, stored: stored.json };
}

test('two js-sdk clients with Rust crypto exchange encrypted messages both ways; the server holds only ciphertext', async () => {
  const aliceUser = await registerUser(server.url, 'alice');
  const bobUser = await registerUser(server.url, 'bob');
  const alice = await cryptoClient(aliceUser);
  const bob = await cryptoClient(bobUser);

  const { room_id: roomId } = await alice.createRoom({
    name: 'Secret plans',
    preset: 'private_chat' as never,
    invite: [bobUser.userId],
    initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
  });
  await waitFor('bob to see the invite', async () => (bob.getRoom(roomId)?.getMyMembership() === 'invite' ? true : undefined));
  await bob.joinRoom(roomId);
  await waitFor('alice to see bob join', async () => (alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === 'join' ? true : undefined));
  assert.equal(await alice.getCrypto()!.isEncryptionEnabledInRoom(roomId), true);

  const toBob = await decryptedFrom(bob, roomId, aliceUser.userId, alice.sendTextMessage(roomId, 'Meet at the old mill at noon'));
  assert.equal(toBob.getType(), 'm.room.message');
  assert.equal(toBob.getContent().body, 'Meet at the old mill at noon');

  const toAlice = await decryptedFrom(alice, roomId, bobUser.userId, bob.sendTextMessage(roomId, 'Bring the maps'));
  assert.equal(toAlice.getContent().body, 'Bring the maps');

  for (const [event, plaintext] of [[toBob, 'old mill'], [toAlice, 'maps']] as const) {
    const { served, stored } = await rawEvent(bobUser, roomId, event.getId()!);
    assert.equal(served.type, 'm.room.encrypted');
    assert.equal(served.content.algorithm, 'm.megolm.v1.aes-sha2');
    assert.equal(typeof served.content.ciphertext, 'string');
    assert.ok(!JSON.stringify(served).includes(plaintext), 'no plaintext served');
    assert.ok(!JSON.stringify(stored).includes(plaintext), 'no plaintext stored');
  }
  const keyMessages = await server.app.db.selectFrom('to_device_messages').select(['event_type', 'content']).execute();
  for (const message of keyMessages) assert.equal(message.event_type, 'm.room.encrypted', 'room keys travel Olm-encrypted');
});
