import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomGet, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
});
after(() => server.stop());

const path = (roomId: string, rest: string) => `/_matrix/client/v3/rooms/${roomId}/${rest}`;
const v1 = (roomId: string, rest: string) => `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/${rest}`;

async function send(user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  const result = await sendMessage(server, user, roomId, content, undefined, type);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body.event_id;
}
const threadReply = (user: TestUser, roomId: string, root: string, body: string) => send(user, roomId, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
const edit = (user: TestUser, roomId: string, target: string, body: string) =>
  send(user, roomId, { msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: target } });
const reference = (user: TestUser, roomId: string, target: string) => send(user, roomId, { msgtype: 'm.text', body: 'see above', 'm.relates_to': { rel_type: 'm.reference', event_id: target } });
const eventOf = async (user: TestUser, roomId: string, eventId: string) => {
  const result = await roomGet(server, user, roomId, `event/${encodeURIComponent(eventId)}`);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'GET', path: path(roomId, `event/${eventId}`), status: 200, body: result.body });
  return result.body;
};

test('edits: the latest edit by the original sender is bundled as m.replace; the content stays the original', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const original = await say(server, alice, roomId, 'tpyo');
  await edit(alice, roomId, original, 'typo?');
  const latest = await edit(alice, roomId, original, 'typo');
  await edit(bob, roomId, original, 'hijacked');
  const event = await eventOf(bob, roomId, original);
  assert.equal(event.content.body, 'tpyo', 'content is never replaced server-side');
  assert.equal(event.unsigned['m.relations']['m.replace'].event_id, latest);
  assert.equal(event.unsigned['m.relations']['m.replace'].content['m.new_content'].body, 'typo');
  assert.equal(event.unsigned['m.relations']['m.thread'], undefined);

  const edited = await eventOf(alice, roomId, latest);
  assert.equal(edited.unsigned['m.relations'], undefined, 'an edit gets no bundle of its own');

  // The same bundle through /messages, /context and /sync.
  const messages = await roomGet(server, bob, roomId, 'messages?dir=b&limit=20');
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'messages'), status: 200, body: messages.body });
  assert.equal(messages.body.chunk.find((item: any) => item.event_id === original).unsigned['m.relations']['m.replace'].event_id, latest);
  const context = await roomGet(server, bob, roomId, `context/${encodeURIComponent(original)}`);
  assert.equal(context.body.event.unsigned['m.relations']['m.replace'].event_id, latest);
  const synced = await syncOnce(server, bob, { filter: JSON.stringify({ room: { timeline: { limit: 20 } } }) });
  const inTimeline = synced.rooms.join[roomId].timeline.events.find((item: any) => item.event_id === original);
  assert.equal(inTimeline.unsigned['m.relations']['m.replace'].event_id, latest);

  // Redacting the latest edit un-bundles it: the previous edit is the latest again.
  const redacted = await request(server.url, 'PUT', path(roomId, `redact/${encodeURIComponent(latest)}/undo-edit`), { token: alice.accessToken, body: {} });
  assert.equal(redacted.status, 200);
  assert.equal((await eventOf(bob, roomId, original)).unsigned['m.relations']['m.replace'].content['m.new_content'].body, 'typo?');
});

test('threads: count, latest event (with its edit) and current_user_participated, per reader', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await roomPost(server, carol, roomId, 'join');
  const root = await say(server, alice, roomId, 'thread root');
  await threadReply(bob, roomId, root, 'first');
  const last = await threadReply(bob, roomId, root, 'second');
  const lastEdit = await edit(bob, roomId, last, 'second (edited)');
  const target = await say(server, alice, roomId, 'referenced');
  const ref = await reference(bob, roomId, target);

  const forBob = (await eventOf(bob, roomId, root)).unsigned['m.relations']['m.thread'];
  assert.equal(forBob.count, 2);
  assert.equal(forBob.current_user_participated, true);
  assert.equal(forBob.latest_event.event_id, last);
  assert.equal(forBob.latest_event.unsigned['m.relations']['m.replace'].event_id, lastEdit, 'the latest event carries its own edit');
  assert.equal((await eventOf(alice, roomId, root)).unsigned['m.relations']['m.thread'].current_user_participated, true, 'the root\'s sender took part');
  assert.equal((await eventOf(carol, roomId, root)).unsigned['m.relations']['m.thread'].current_user_participated, false);
  assert.deepEqual((await eventOf(carol, roomId, target)).unsigned['m.relations']['m.reference'], { chunk: [{ event_id: ref }] });

  // Carol leaves; later replies are not hers to see, so they do not count for her.
  await roomPost(server, carol, roomId, 'leave');
  await threadReply(alice, roomId, root, 'after carol left');
  assert.equal((await eventOf(carol, roomId, root)).unsigned['m.relations']['m.thread'].count, 2);
  assert.equal((await eventOf(bob, roomId, root)).unsigned['m.relations']['m.thread'].count, 3);
});

test('/threads lists roots by latest activity, `participated` filters, pages with next_batch; refusals', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const rootA = await say(server, alice, roomId, 'A');
  const rootB = await say(server, bob, roomId, 'B');
  const rootC = await say(server, alice, roomId, 'C');
  await threadReply(alice, roomId, rootA, 'a1');
  await threadReply(alice, roomId, rootB, 'b1');
  await threadReply(alice, roomId, rootC, 'c1');
  await threadReply(bob, roomId, rootA, 'a2');
  const threads = async (user: TestUser, query: string) => {
    const result = await request(server.url, 'GET', v1(roomId, `threads?${query}`), { token: user.accessToken });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'GET', path: v1(roomId, 'threads'), status: 200, body: result.body });
    return result.body;
  };
  const all = await threads(bob, '');
  assert.deepEqual(all.chunk.map((event: any) => event.content.body), ['A', 'C', 'B']);
  assert.equal(all.chunk[0].unsigned['m.relations']['m.thread'].count, 2, 'roots carry their bundled aggregations');
  assert.equal(all.next_batch, undefined);
  const participated = await threads(bob, 'include=participated');
  assert.deepEqual(participated.chunk.map((event: any) => event.content.body), ['A', 'B'], 'replied in A, sent the root of B');
  const page1 = await threads(bob, 'limit=2');
  assert.deepEqual(page1.chunk.map((event: any) => event.content.body), ['A', 'C']);
  const page2 = await threads(bob, `limit=2&from=${page1.next_batch}`);
  assert.deepEqual(page2.chunk.map((event: any) => event.content.body), ['B']);

  await assertRefusal(await request(server.url, 'GET', v1(roomId, 'threads'), { token: carol.accessToken }), { method: 'GET', path: v1(roomId, 'threads'), status: 403, errcode: 'M_FORBIDDEN' });
  for (const bad of ['include=mine', 'limit=0', 'limit=1000', 'from=nope']) {
    const result = await request(server.url, 'GET', v1(roomId, `threads?${bad}`), { token: bob.accessToken });
    await assertRefusal(result, { method: 'GET', path: v1(roomId, 'threads'), status: 400, errcode: 'M_INVALID_PARAM' });
  }
});

test('/timestamp_to_event finds the closest visible event in either direction; 404 past the ends; refusals', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  for (const body of ['t1', 't2', 't3']) await say(server, alice, roomId, body);
  const timeline = (await roomGet(server, alice, roomId, 'messages?dir=f&limit=100')).body.chunk as any[];
  const lookup = async (ts: number, dir: string) => request(server.url, 'GET', v1(roomId, `timestamp_to_event?ts=${ts}&dir=${dir}`), { token: alice.accessToken });
  const middle = timeline.find((event) => event.content.body === 't2');
  const expectedForwards = timeline.find((event) => event.origin_server_ts >= middle.origin_server_ts);
  const expectedBackwards = timeline.findLast((event) => event.origin_server_ts <= middle.origin_server_ts);
  const forwards = await lookup(middle.origin_server_ts, 'f');
  assert.equal(forwards.status, 200);
  await assertMatchesSpec({ method: 'GET', path: v1(roomId, 'timestamp_to_event'), status: 200, body: forwards.body });
  assert.deepEqual(forwards.body, { event_id: expectedForwards.event_id, origin_server_ts: expectedForwards.origin_server_ts });
  assert.deepEqual((await lookup(middle.origin_server_ts, 'b')).body, { event_id: expectedBackwards.event_id, origin_server_ts: expectedBackwards.origin_server_ts });
  assert.equal((await lookup(0, 'f')).body.event_id, timeline[0].event_id, 'from the epoch forwards: the create event');
  const newest = timeline.at(-1);
  assert.equal((await lookup(newest.origin_server_ts + 60_000, 'b')).body.event_id, newest.event_id);

  await assertRefusal(await lookup(newest.origin_server_ts + 60_000, 'f'), { method: 'GET', path: v1(roomId, 'timestamp_to_event'), status: 404, errcode: 'M_NOT_FOUND' });
  await assertRefusal(await lookup(0, 'b'), { method: 'GET', path: v1(roomId, 'timestamp_to_event'), status: 404, errcode: 'M_NOT_FOUND' });
  const strangers = await request(server.url, 'GET', v1(roomId, 'timestamp_to_event?ts=0&dir=f'), { token: carol.accessToken });
  await assertRefusal(strangers, { method: 'GET', path: v1(roomId, 'timestamp_to_event'), status: 403, errcode: 'M_FORBIDDEN', checkSpec: false });
  for (const bad of ['ts=0&dir=x', 'ts=abc&dir=f', 'dir=f', 'ts=0', 'ts=-5&dir=f']) {
    const result = await request(server.url, 'GET', v1(roomId, `timestamp_to_event?${bad}`), { token: alice.accessToken });
    assert.equal(result.status, 400, `${bad}: ${JSON.stringify(result.body)}`);
    assert.match(result.body.errcode, /^M_(INVALID|MISSING)_PARAM$/);
  }
});

test('a relation from another room is not bundled, listed or counted as a thread', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const elsewhere = await createRoom(server, alice, { preset: 'public_chat' });
  const root = await say(server, alice, roomId, 'root here');
  await threadReply(alice, elsewhere, root, 'reply from another room');
  await edit(alice, elsewhere, root, 'edit from another room');
  const event = await eventOf(alice, roomId, root);
  assert.equal(event.unsigned['m.relations'], undefined);
  const listed = await request(server.url, 'GET', `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(root)}`, { token: alice.accessToken });
  assert.deepEqual(listed.body.chunk, []);
  const threads = await request(server.url, 'GET', v1(elsewhere, 'threads'), { token: alice.accessToken });
  assert.deepEqual(threads.body.chunk, [], 'the root is not in that room');
});
