import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomPost, roomSnapshot } from '../support/rooms.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';

let server: TestServer;
let alice: TestUser;
// A bot that cannot read Megolm, and one whose registration says it can.
const plain = makeRegistration('plain');
const crypto = makeRegistration('crypto', { 'io.palisade.supports_encryption': true });
const plainBot = '@plain_relay:localhost';
const cryptoBot = '@crypto_relay:localhost';
const MEGOLM = { algorithm: 'm.megolm.v1.aes-sha2' };

before(async () => {
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([plain, crypto]) });
  alice = await registerUser(server.url, 'alice');
  for (const [registration, localpart] of [[plain, 'plain_relay'], [crypto, 'crypto_relay']] as const) {
    const registered = await request(server.url, 'POST', '/_matrix/client/v3/register', { token: registration.as_token, body: { type: 'm.login.application_service', username: localpart, inhibit_login: true } });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
  }
});
after(() => server.stop());

/** The bot acting through its appservice (masquerading with ?user_id=). */
const asBot = (registration: typeof plain, userId: string, method: string, path: string, body: unknown = {}) =>
  request(server.url, method, `${path}${path.includes('?') ? '&' : '?'}user_id=${encodeURIComponent(userId)}`, { token: registration.as_token, body });

async function encryptedRoom(extra: Record<string, unknown> = {}): Promise<string> {
  return createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.encryption', state_key: '', content: MEGOLM }], ...extra });
}

async function expectBotRefusal(result: HttpResult, method: string, path: string, roomId: string | undefined, before: unknown, mentions: RegExp) {
  await assertRefusal(result, { method, path, status: 403, errcode: 'M_FORBIDDEN' });
  assert.match(result.body.error, mentions);
  if (roomId) assert.deepEqual(await roomSnapshot(server, roomId), before, 'a refused membership changes nothing');
}

test('a bot without encryption support cannot be invited into an encrypted channel, nor can its sender', async () => {
  const roomId = await encryptedRoom();
  const before = await roomSnapshot(server, roomId);
  for (const userId of [plainBot, '@plain_bot:localhost']) {
    const invited = await roomPost(server, alice, roomId, 'invite', { user_id: userId });
    await expectBotRefusal(invited, 'POST', `/_matrix/client/v3/rooms/${roomId}/invite`, roomId, before, /requires end-to-end encryption.*application service plain.*io\.palisade\.supports_encryption/);
  }
});

test('a bot without encryption support cannot join an encrypted channel by ID or by alias, nor knock', async () => {
  const roomId = await encryptedRoom({ room_alias_name: 'open-encrypted' });
  const before = await roomSnapshot(server, roomId);
  const byId = await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`);
  await expectBotRefusal(byId, 'POST', `/_matrix/client/v3/rooms/${roomId}/join`, roomId, before, /application service plain/);
  const byAlias = await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/join/${encodeURIComponent('#open-encrypted:localhost')}`);
  await expectBotRefusal(byAlias, 'POST', '/_matrix/client/v3/join/%23open-encrypted%3Alocalhost', roomId, before, /application service plain/);

  const knockRoom = await createRoom(server, alice, { initial_state: [{ type: 'm.room.encryption', state_key: '', content: MEGOLM }, { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
  const knockBefore = await roomSnapshot(server, knockRoom);
  const knocked = await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/knock/${encodeURIComponent(knockRoom)}`);
  await expectBotRefusal(knocked, 'POST', `/_matrix/client/v3/knock/${knockRoom}`, knockRoom, knockBefore, /application service plain/);
});

test("createRoom cannot slip a bot without encryption support in through its invite list", async () => {
  const roomsBefore = await server.app.db.selectFrom('rooms').select('room_id').execute();
  const created = await request(server.url, 'POST', '/_matrix/client/v3/createRoom', {
    token: alice.accessToken,
    body: { invite: [plainBot], initial_state: [{ type: 'm.room.encryption', state_key: '', content: MEGOLM }] },
  });
  await expectBotRefusal(created, 'POST', '/_matrix/client/v3/createRoom', undefined, undefined, /application service plain/);
  assert.deepEqual(await server.app.db.selectFrom('rooms').select('room_id').execute(), roomsBefore, 'no room was left behind');
});

test('encryption cannot be turned on while such a bot is invited or joined; the refusal names it', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  assert.equal((await roomPost(server, alice, roomId, 'invite', { user_id: plainBot })).status, 200, 'unencrypted rooms admit any bot');
  let before = await roomSnapshot(server, roomId);
  const path = `/_matrix/client/v3/rooms/${roomId}/state/m.room.encryption/`;
  await expectBotRefusal(await putState(server, alice, roomId, 'm.room.encryption', '', MEGOLM), 'PUT', path, roomId, before, new RegExp(`cannot be turned on.*${plainBot}`));

  assert.equal((await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`)).status, 200, 'the old invite still lets it join while unencrypted');
  before = await roomSnapshot(server, roomId);
  await expectBotRefusal(await putState(server, alice, roomId, 'm.room.encryption', '', MEGOLM), 'PUT', path, roomId, before, new RegExp(plainBot));

  assert.equal((await roomPost(server, alice, roomId, 'kick', { user_id: plainBot })).status, 200);
  assert.equal((await putState(server, alice, roomId, 'm.room.encryption', '', MEGOLM)).status, 200, 'with the bot gone, encryption goes on');
  before = await roomSnapshot(server, roomId);
  const rejoin = await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`);
  await expectBotRefusal(rejoin, 'POST', `/_matrix/client/v3/rooms/${roomId}/join`, roomId, before, /application service plain/);
});

test('a bot whose registration declares encryption support is invited and joins as usual', async () => {
  const roomId = await encryptedRoom();
  assert.equal((await roomPost(server, alice, roomId, 'invite', { user_id: cryptoBot })).status, 200);
  const joined = await asBot(crypto, cryptoBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`);
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  // And people (outside any appservice namespace) are not affected.
  const bob = await registerUser(server.url, 'bob');
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
});
