import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, putState, roomGet, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';
import { authed, getMedia, mediaIdOf, uploadBytes } from '../support/media.ts';
import { waitFor } from '../support/wait-for.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { purgeExpiredEvents } from '../../server/channels/retention.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const HOUR = 3_600_000;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

/** A moment strictly after everything sent so far: events sent from now on are newer than it. */
async function mark(): Promise<number> {
  const moment = Date.now();
  await waitFor('the clock to move on', async () => (Date.now() > moment ? true : undefined));
  return moment;
}

const eventRow = (eventId: string) => server.app.db.selectFrom('events').select(['json']).where('event_id', '=', eventId).executeTakeFirst();
const getEvent = (roomId: string, eventId: string) => roomGet(server, bob, roomId, `event/${encodeURIComponent(eventId)}`);

async function allMessages(roomId: string, user: TestUser): Promise<any[]> {
  const events: any[] = [];
  let from: string | undefined;
  for (let page = 0; page < 50; page++) {
    const path = `messages?dir=b&limit=3${from ? `&from=${encodeURIComponent(from)}` : ''}`;
    const result = await roomGet(server, user, roomId, path);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'GET', path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/${path}`, status: 200, body: result.body });
    events.push(...result.body.chunk);
    if (!result.body.end) return events;
    from = result.body.end;
  }
  throw new Error('pagination did not end');
}

test('events past the maximum age, and their media, disappear from the database and every API; sync and pagination go on', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  const upload = await uploadBytes(server, alice, Buffer.from('a picture that must expire'), { contentType: 'image/png' });
  const mxc = upload.body.content_uri;
  const image = (await sendMessage(server, alice, roomId, { msgtype: 'm.image', body: 'pic.png', url: mxc })).body.event_id;
  const old = await say(server, alice, roomId, 'an old secret');
  assert.equal((await putState(server, alice, roomId, 'm.room.topic', '', { topic: 'an old topic' })).status, 200);
  const oldTopic = (await roomGet(server, alice, roomId, 'state')).body.find((event: any) => event.type === 'm.room.topic').event_id;
  assert.equal((await putState(server, alice, roomId, 'm.room.retention', '', { max_lifetime: HOUR })).status, 200);
  const bobBefore = (await syncOnce(server, bob)).next_batch;
  const cutoff = await mark();

  const fresh = await say(server, alice, roomId, 'a fresh message');
  assert.equal((await putState(server, alice, roomId, 'm.room.topic', '', { topic: 'the current topic' })).status, 200);

  // The job runs as if an hour had passed since the cut-off: everything before it is past its age.
  const result = await purgeExpiredEvents(server.app, cutoff + HOUR);
  assert.ok(result.deleted >= 2 && result.media === 1, JSON.stringify(result));

  for (const eventId of [image, old]) {
    assert.equal(await eventRow(eventId), undefined, 'the message row is gone');
    assert.equal((await getEvent(roomId, eventId)).status, 404);
  }
  const stub = await eventRow(oldTopic);
  assert.deepEqual(stub?.json.content, {}, 'replaced state is kept only as its redacted stub');
  assert.equal((await getMedia(server, authed(`/download/localhost/${mediaIdOf(mxc)}`), alice.accessToken)).status, 404, 'the media is gone');
  assert.equal(await server.app.db.selectFrom('media').select('media_id').where('media_id', '=', mediaIdOf(mxc)).executeTakeFirst(), undefined);

  const texts = (events: any[]) => events.filter((event) => event.type === 'm.room.message').map((event) => event.content.body);
  assert.deepEqual(texts(await allMessages(roomId, bob)), ['a fresh message'], 'pagination reaches the start without the old events');
  const initial = await syncOnce(server, bob);
  assert.deepEqual(texts(initial.rooms.join[roomId].timeline.events), ['a fresh message']);
  const incremental = await syncOnce(server, bob, { since: bobBefore });
  assert.deepEqual(texts(incremental.rooms.join[roomId].timeline.events), ['a fresh message'], 'a sync token from before the purge still works');
  assert.equal((await getEvent(roomId, fresh)).status, 200);
  const state = (await roomGet(server, bob, roomId, 'state')).body;
  assert.equal(state.find((event: any) => event.type === 'm.room.topic').content.topic, 'the current topic', 'current state is kept whole');
  assert.ok(state.find((event: any) => event.type === 'm.room.member' && event.state_key === bob.userId));

  // The room goes on: new messages are sent, synced and paginated.
  const next = await syncOnce(server, bob, { since: initial.next_batch, timeout: '0' });
  await say(server, alice, roomId, 'after the purge');
  const after = await syncOnce(server, bob, { since: next.next_batch });
  assert.deepEqual(texts(after.rooms.join[roomId].timeline.events), ['after the purge']);
  assert.deepEqual(texts(await allMessages(roomId, bob)), ['after the purge', 'a fresh message']);
});

test("a room's newest event is kept as a stub so the room can go on; encrypted events go too; rooms without retention are untouched", async () => {
  const MEGOLM = { algorithm: 'm.megolm.v1.aes-sha2' };
  const roomId = await createRoom(server, alice, { initial_state: [{ type: 'm.room.encryption', state_key: '', content: MEGOLM }, { type: 'm.room.retention', state_key: '', content: { max_lifetime: HOUR } }] });
  const untouched = await createRoom(server, alice);
  const kept = await say(server, alice, untouched, 'kept forever');
  const ciphertext = { algorithm: MEGOLM.algorithm, sender_key: 'c2VuZGVy', ciphertext: 'AwgAEnAB', session_id: 'c2Vzc2lvbg', device_id: alice.deviceId };
  const first = (await sendMessage(server, alice, roomId, ciphertext, 'e1', 'm.room.encrypted')).body.event_id;
  const last = (await sendMessage(server, alice, roomId, ciphertext, 'e2', 'm.room.encrypted')).body.event_id;
  const cutoff = await mark();

  await purgeExpiredEvents(server.app, cutoff + HOUR);
  assert.equal(await eventRow(first), undefined);
  assert.deepEqual((await eventRow(last))?.json.content, {}, 'the newest event is a stub: the ciphertext is gone');
  assert.equal((await eventRow(kept))?.json.content.body, 'kept forever');
  // Running again changes nothing more, and the room takes new events.
  const again = await purgeExpiredEvents(server.app, cutoff + HOUR);
  assert.deepEqual([again.deleted, again.stubbed], [0, 0]);
  assert.equal((await sendMessage(server, alice, roomId, ciphertext, 'e3', 'm.room.encrypted')).status, 200);
});

test('a maximum age outside the bounds is refused on the event path, and changes nothing', async () => {
  const roomId = await createRoom(server, alice);
  for (const max_lifetime of [0, 10, 1.5, -HOUR, 'forever']) {
    const result = await putState(server, alice, roomId, 'm.room.retention', '', { max_lifetime });
    assert.deepEqual([result.status, result.body.errcode], [400, 'M_BAD_JSON'], String(max_lifetime));
    assert.match(result.body.error, /retention/);
  }
  assert.equal((await roomGet(server, alice, roomId, 'state/m.room.retention/')).status, 404);
  assert.equal((await request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.retention/`, { token: alice.accessToken, body: {} })).status, 200, 'no max_lifetime: keep forever');
});
