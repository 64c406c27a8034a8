import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, putState, roomPost, roomSnapshot, say, sendMessage } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const MEGOLM = { algorithm: 'm.megolm.v1.aes-sha2' };
const ciphertext = { algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'c2VuZGVy', ciphertext: 'AwgAEnAB', session_id: 'c2Vzc2lvbg', device_id: 'ALICEDEVICE' };

/** A room made encrypted through a plain createRoom, as any client does it. */
async function encryptedRoom(): Promise<string> {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.encryption', state_key: '', content: MEGOLM }] });
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  return roomId;
}

async function expectPolicyRefusal(result: Promise<{ status: number; body: any }>, roomId: string, before: unknown, mentions: RegExp) {
  const { status, body } = await result;
  assert.deepEqual([status, body.errcode], [403, 'M_FORBIDDEN'], JSON.stringify(body));
  assert.match(body.error, /requires end-to-end encryption/);
  assert.match(body.error, mentions);
  assert.deepEqual(await roomSnapshot(server, roomId), before, 'a refused event changes nothing');
}

test('an encrypted channel refuses plaintext messages of every kind and stores only what was sent encrypted', async () => {
  const roomId = await encryptedRoom();
  const before = await roomSnapshot(server, roomId);
  await expectPolicyRefusal(sendMessage(server, bob, roomId, { msgtype: 'm.text', body: 'secret plans' }), roomId, before, /m\.room\.message/);
  await expectPolicyRefusal(sendMessage(server, bob, roomId, { body: 'sticker' }, 'st1', 'm.sticker'), roomId, before, /m\.sticker/);
  await expectPolicyRefusal(sendMessage(server, bob, roomId, { anything: 'custom' }, 'cu1', 'com.example.custom'), roomId, before, /com\.example\.custom/);

  const sent = await sendMessage(server, bob, roomId, ciphertext, 'enc1', 'm.room.encrypted');
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const fetched = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(sent.body.event_id)}`, { token: alice.accessToken });
  assert.equal(fetched.body.type, 'm.room.encrypted');
  assert.deepEqual(fetched.body.content, ciphertext, 'stored and served exactly as sent');
});

test('reactions, redactions and state stay possible in an encrypted channel, as the spec has them', async () => {
  const roomId = await encryptedRoom();
  const target = (await sendMessage(server, bob, roomId, ciphertext, 'enc2', 'm.room.encrypted')).body.event_id;
  const reaction = await sendMessage(server, alice, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } }, 'r1', 'm.reaction');
  assert.equal(reaction.status, 200, JSON.stringify(reaction.body));
  const redaction = await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(target)}/red1`, { token: bob.accessToken, body: {} });
  assert.equal(redaction.status, 200, JSON.stringify(redaction.body));
  assert.equal((await putState(server, alice, roomId, 'm.room.topic', '', { topic: 'still encrypted' })).status, 200);

  // A "reaction" that carries a message body is plaintext in disguise.
  const before = await roomSnapshot(server, roomId);
  await expectPolicyRefusal(
    sendMessage(server, alice, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: 'x' }, body: 'hidden text' }, 'r2', 'm.reaction'),
    roomId,
    before,
    /m\.reaction/,
  );
});

test('encryption can never be removed, weakened or redacted away', async () => {
  const roomId = await encryptedRoom();
  const before = await roomSnapshot(server, roomId);
  await expectPolicyRefusal(putState(server, alice, roomId, 'm.room.encryption', '', {}), roomId, before, /cannot be removed or changed/);
  await expectPolicyRefusal(putState(server, alice, roomId, 'm.room.encryption', '', { algorithm: 'm.olm.v1.curve25519-aes-sha2' }), roomId, before, /cannot be removed or changed/);

  const state = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`, { token: alice.accessToken });
  const encryptionEvent = state.body.find((event: any) => event.type === 'm.room.encryption');
  await expectPolicyRefusal(
    request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(encryptionEvent.event_id)}/red-enc`, { token: alice.accessToken, body: {} }),
    roomId,
    before,
    /cannot be redacted/,
  );
  // Restating the same algorithm (say, with other rotation settings) is not a weakening.
  assert.equal((await putState(server, alice, roomId, 'm.room.encryption', '', { ...MEGOLM, rotation_period_msgs: 50 })).status, 200);
});

test('a room that turns encryption on later becomes an encryption-required channel from then on', async () => {
  const roomId = await createRoom(server, alice, { preset: 'private_chat' });
  await say(server, alice, roomId, 'before encryption, in the clear');
  assert.equal((await putState(server, alice, roomId, 'm.room.encryption', '', MEGOLM)).status, 200);
  const before = await roomSnapshot(server, roomId);
  await expectPolicyRefusal(sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'now refused' }), roomId, before, /m\.room\.message/);
});

test('rooms without encryption are not affected', async () => {
  const roomId = await createRoom(server, alice, { preset: 'private_chat' });
  await say(server, alice, roomId, 'plain room, plain text');
  assert.equal((await sendMessage(server, alice, roomId, { anything: 1 }, 'c1', 'com.example.custom')).status, 200);
});

test('plaintext cannot ride in state: a message type with a state key, or custom state with a body, is refused', async () => {
  const roomId = await encryptedRoom();
  const before = await roomSnapshot(server, roomId);
  await expectPolicyRefusal(putState(server, alice, roomId, 'm.room.message', '', { msgtype: 'm.text', body: 'in state' }), roomId, before, /m\.room\.message state event/);
  await expectPolicyRefusal(putState(server, alice, roomId, 'com.example.note', 'n1', { body: 'a note in the clear' }), roomId, before, /com\.example\.note state event/);
  await expectPolicyRefusal(putState(server, alice, roomId, 'm.room.name', '', { name: 'ok', formatted_body: '<b>hidden</b>' }), roomId, before, /m\.room\.name state event/);
  // Ordinary state with its own keys is still fine.
  assert.equal((await putState(server, alice, roomId, 'com.example.settings', '', { colour: 'blue' })).status, 200);
});
