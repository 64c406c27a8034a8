import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BackupDecryptionKey, DecryptionSettings, EncryptionSettings, RoomId, TrustRequirement, UserId } from '@matrix-org/matrix-sdk-crypto-wasm';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { olmClient, type OlmClient } from '../support/olm-client.ts';

/**
 * Two real Rust-crypto clients talk E2EE through the server's key APIs: the
 * server only ever sees public keys and ciphertext, and the clients still
 * decrypt each other. To-device messages, device-list changes and key counts
 * reach them through /sync.
 */
const ROOM = '!secret:localhost';
let server: TestServer;
let alice: OlmClient;
let bob: OlmClient;

before(async () => {
  server = await startTestServer();
  const [aliceUser, bobUser] = await Promise.all(['alice', 'bob'].map((name) => registerUser(server.url, name)));
  alice = await olmClient(server, aliceUser);
  bob = await olmClient(server, bobUser);
  await alice.flush();
  await bob.flush();
});
after(async () => {
  alice?.close();
  bob?.close();
  await server.stop();
});

async function shareAndEncrypt(from: OlmClient, to: TestUser, body: string): Promise<string> {
  await from.machine.updateTrackedUsers([new UserId(to.userId)]);
  await from.flush(); // keys/query
  const claim = await from.machine.getMissingSessions([new UserId(to.userId)]);
  if (claim) await from.send(claim);
  for (const toDevice of await from.machine.shareRoomKey(new RoomId(ROOM), [new UserId(to.userId)], new EncryptionSettings())) await from.send(toDevice);
  return from.machine.encryptRoomEvent(new RoomId(ROOM), 'm.room.message', JSON.stringify({ msgtype: 'm.text', body }));
}

async function decrypt(client: OlmClient, sender: TestUser, encrypted: string): Promise<Record<string, any>> {
  const event = { type: 'm.room.encrypted', content: JSON.parse(encrypted), sender: sender.userId, event_id: `$e${Date.now()}`, origin_server_ts: Date.now(), room_id: ROOM };
  const decrypted = await client.machine.decryptRoomEvent(JSON.stringify(event), new RoomId(ROOM), new DecryptionSettings(TrustRequirement.Untrusted));
  return JSON.parse(decrypted.event);
}

test('an Olm session over claimed one-time keys carries a Megolm room key; the server holds only ciphertext', async () => {
  const encrypted = await shareAndEncrypt(alice, bob.user, 'the launch code is 0000');
  const inbox = await server.app.db.selectFrom('to_device_messages').selectAll().where('recipient_user_id', '=', bob.user.userId).execute();
  assert.ok(inbox.length >= 1);
  for (const message of inbox) {
    assert.equal(message.event_type, 'm.room.encrypted');
    assert.equal(message.content.algorithm, 'm.olm.v1.curve25519-aes-sha2');
    assert.ok(!JSON.stringify(message.content).includes('launch code'));
  }
  assert.ok((await bob.receiveToDevice()) >= 1);
  const event = await decrypt(bob, alice.user, encrypted);
  assert.equal(event.content.body, 'the launch code is 0000');
});

test('cross-signing bootstrapped by the Rust crypto is accepted and visible to the other user', async () => {
  const requests = await alice.machine.bootstrapCrossSigning(true);
  if (requests.uploadKeysRequest) await alice.send(requests.uploadKeysRequest);
  const signingBody = JSON.parse(requests.uploadSigningKeysRequest.body);
  const signing = await request(server.url, 'POST', '/_matrix/client/v3/keys/device_signing/upload', { token: alice.user.accessToken, body: signingBody });
  assert.equal(signing.status, 200, JSON.stringify(signing.body));
  const signatures = (await alice.send(requests.uploadSignaturesRequest)) as { failures: object };
  assert.deepEqual(signatures.failures, {});

  const status = await alice.machine.crossSigningStatus();
  assert.ok(status.hasMaster && status.hasSelfSigning && status.hasUserSigning);
  const seen = await request(server.url, 'POST', '/_matrix/client/v3/keys/query', { token: bob.user.accessToken, body: { device_keys: { [alice.user.userId]: [] } } });
  await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/keys/query', status: 200, body: seen.body });
  assert.deepEqual(seen.body.master_keys[alice.user.userId].keys, signingBody.master_key.keys);
  const sskId = Object.keys(signingBody.self_signing_key.keys)[0];
  assert.ok(seen.body.device_keys[alice.user.userId][alice.user.deviceId].signatures[alice.user.userId][sskId], "alice's device is signed by her self-signing key");

  await bob.machine.updateTrackedUsers([new UserId(alice.user.userId)]);
  await bob.flush();
  const identity = await bob.machine.getIdentity(new UserId(alice.user.userId));
  assert.ok(identity, "bob's crypto accepted alice's cross-signing identity from the server");
  const device = await bob.machine.getDevice(new UserId(alice.user.userId), alice.machine.deviceId);
  assert.ok(device?.isCrossSignedByOwner(), "alice's device verifies as signed by her own identity");
});

test('room keys backed up by the Rust crypto come back decryptable with the recovery key', async () => {
  const recovery = BackupDecryptionKey.createRandomKey();
  const publicKey = recovery.megolmV1PublicKey.publicKeyBase64;
  const created = await request(server.url, 'POST', '/_matrix/client/v3/room_keys/version', {
    token: alice.user.accessToken,
    body: { algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: publicKey } },
  });
  assert.equal(created.status, 200);
  await alice.machine.enableBackupV1(publicKey, created.body.version);
  const backup = await alice.machine.backupRoomKeys();
  assert.ok(backup, 'alice has a room key to back up');
  await alice.send(backup);

  const stored = await request(server.url, 'GET', `/_matrix/client/v3/room_keys/keys?version=${created.body.version}`, { token: alice.user.accessToken });
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/room_keys/keys', status: 200, body: stored.body });
  const sessions = stored.body.rooms[ROOM].sessions;
  const [sessionId] = Object.keys(sessions);
  const { ephemeral, mac, ciphertext } = sessions[sessionId].session_data;
  const exported = JSON.parse(recovery.decryptV1(ephemeral, mac, ciphertext));
  assert.equal(exported.algorithm, 'm.megolm.v1.aes-sha2');
  assert.equal(typeof exported.session_key, 'string');
  const info = await request(server.url, 'GET', '/_matrix/client/v3/room_keys/version', { token: alice.user.accessToken });
  assert.equal(info.body.count, 1);
});
