import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { quietMatrixSdk, startSyncedClient } from '../support/js-sdk.ts';
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
let aliceUser: TestUser;
let bobUser: TestUser;
let alice: MatrixClient;
let bob: MatrixClient;
let roomId: string;
/** The first message (alice to bob), which the backup test restores on a new device. */
let firstEventId: string;

before(async () => {
  server = await startTestServer();
  aliceUser = await registerUser(server.url, 'alice');
  bobUser = await registerUser(server.url, 'bob');
  alice = await cryptoClient(aliceUser);
  bob = await cryptoClient(bobUser);
  ({ room_id: roomId } = await alice.createRoom({
    name: 'Secret plans',
    preset: 'private_chat' as never,
    invite: [bobUser.userId],
    initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
  }));
  await waitFor('bob to see the invite', async () => (bob.getRoom(roomId)?.getMyMembership() === 'invite' ? true : undefined));
  await bob.joinRoom(roomId);
  await waitFor('alice to see bob join', async () => (alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === 'join' ? true : undefined));
});
after(async () => {
  for (const client of clients) client.stopClient();
  await server.stop();
});

async function cryptoClient(user: TestUser): Promise<MatrixClient> {
  const client = await startSyncedClient(server.url, user, { crypto: true });
  clients.push(client);
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
  assert.equal(await alice.getCrypto()!.isEncryptionEnabledInRoom(roomId), true);
  // Alice backs her room keys up before she creates any, so the first one goes to the backup too (next test).
  await alice.getCrypto()!.resetKeyBackup();

  const toBob = await decryptedFrom(bob, roomId, aliceUser.userId, alice.sendTextMessage(roomId, 'Meet at the old mill at noon'));
  firstEventId = toBob.getId()!;
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

test("a second device of alice's restores the room key from server-side key backup and decrypts the old message", async () => {
  assert.ok(firstEventId, 'runs after the exchange above');
  const version = await alice.getCrypto()!.getActiveSessionBackupVersion();
  assert.ok(version, 'the backup is active on the first device');
  await waitFor('the room key to reach the backup', async () => {
    const row = await server.app.db.selectFrom('room_key_backup_keys').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', aliceUser.userId).executeTakeFirstOrThrow();
    return Number(row.n) > 0 ? true : undefined;
  }, 20_000);
  const stored = await server.app.db.selectFrom('room_key_backup_keys').selectAll().where('user_id', '=', aliceUser.userId).execute();
  for (const row of stored) assert.ok(!JSON.stringify(row).includes('old mill'));
  const backupKey = await alice.getCrypto()!.getSessionBackupPrivateKey();
  assert.ok(backupKey, 'the first device holds the backup decryption key (in a real client: the recovery key)');

  const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: aliceUser.password, device_id: 'ALICE2' },
  });
  assert.equal(login.status, 200);
  const laptop = await cryptoClient({ ...aliceUser, accessToken: login.body.access_token, deviceId: 'ALICE2' });
  const old = await waitFor('the new device to see the old message', async () => laptop.getRoom(roomId)?.findEventById(firstEventId), 20_000);
  await waitFor('the first decryption attempt', async () => (old.isBeingDecrypted() ? undefined : true));
  assert.ok(old.isDecryptionFailure(), 'the new device has no room key of its own');

  await laptop.getCrypto()!.storeSessionBackupPrivateKey(backupKey, version);
  const restored = await laptop.getCrypto()!.restoreKeyBackup();
  assert.ok(restored.imported >= 1, JSON.stringify(restored));
  await waitFor('the old message to decrypt with the restored key', async () => (old.isDecryptionFailure() || old.isBeingDecrypted() ? undefined : true), 20_000);
  assert.equal(old.getContent().body, 'Meet at the old mill at noon');
});

test('cross-signing bootstrapped by js-sdk is accepted, and the other user sees the signatures', async () => {
  const crypto = alice.getCrypto()!;
  await crypto.bootstrapCrossSigning({
    // The first upload of cross-signing keys needs no user-interactive auth (the spec allows it).
    authUploadDeviceSigningKeys: async (makeRequest) => {
      await makeRequest(null);
    },
  });
  const status = await crypto.getCrossSigningStatus();
  assert.equal(status.publicKeysOnDevice, true);
  assert.equal(status.privateKeysInSecretStorage, false, 'no secret storage in this test');
  assert.equal(await crypto.isCrossSigningReady(), true);

  // Bob hears of the change through device_lists in /sync, re-queries, and verifies the signatures himself.
  await waitFor('bob to see alice cross-signed her device', async () => {
    const device = await bob.getCrypto()!.getDeviceVerificationStatus(aliceUser.userId, aliceUser.deviceId);
    return device?.signedByOwner ? true : undefined;
  }, 20_000);
  const identity = await bob.getCrypto()!.getUserVerificationStatus(aliceUser.userId);
  assert.equal(identity.isCrossSigningVerified(), false, 'bob has not verified alice (that takes an interactive verification)');

  const query = await request(server.url, 'POST', '/_matrix/client/v3/keys/query', { token: bobUser.accessToken, body: { device_keys: { [aliceUser.userId]: [] } } });
  const masterKey = query.body.master_keys[aliceUser.userId];
  const selfSigning = query.body.self_signing_keys[aliceUser.userId];
  assert.ok(masterKey && selfSigning);
  const selfSigningId = Object.keys(selfSigning.keys)[0];
  assert.ok(query.body.device_keys[aliceUser.userId][aliceUser.deviceId].signatures[aliceUser.userId][selfSigningId], 'her device carries the self-signing signature');
  assert.ok(masterKey.signatures[aliceUser.userId][`ed25519:${aliceUser.deviceId}`], 'her master key carries her device signature');
});
