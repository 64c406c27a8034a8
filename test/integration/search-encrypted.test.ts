import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, say, sendMessage } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
});
after(() => server.stop());

async function searchTexts(term: string): Promise<string[]> {
  const result = await request(server.url, 'POST', '/_matrix/client/v3/search', { token: alice.accessToken, body: { search_categories: { room_events: { search_term: term } } } });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body.search_categories.room_events.results.map((item: any) => `${item.result.type}:${item.result.content.body}`);
}

test('search never matches encrypted events, even ones carrying a plaintext-looking body', async () => {
  const plainRoom = await createRoom(server, alice, { preset: 'private_chat' });
  const secretRoom = await createRoom(server, alice, { preset: 'private_chat', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  await say(server, alice, plainRoom, 'zebra crossing');
  // A misbehaving client could put a `body` beside the ciphertext; it is still never searched.
  const encrypted = { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'zebra', body: 'zebra stripes', device_id: 'DEV', sender_key: 'a2V5', session_id: 'c2Vzcw' };
  assert.equal((await sendMessage(server, alice, secretRoom, encrypted, 'enc1', 'm.room.encrypted')).status, 200);
  assert.deepEqual(await searchTexts('zebra'), ['m.room.message:zebra crossing'], 'the plaintext room matches; the encrypted event does not');
  assert.deepEqual(await searchTexts('stripes'), []);
});
