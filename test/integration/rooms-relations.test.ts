import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomGet, roomPost, say, sendMessage } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let stranger: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  stranger = await registerUser(server.url, 'stranger');
});
after(() => server.stop());

const relationsPath = (roomId: string, rest: string) => `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/relations/${rest}`;
const getRelations = (user: TestUser, roomId: string, rest: string) => request(server.url, 'GET', relationsPath(roomId, rest), { token: user.accessToken });

async function send(user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  const result = await sendMessage(server, user, roomId, content, undefined, type);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body.event_id;
}
const threadReply = (user: TestUser, roomId: string, root: string, body: string) =>
  send(user, roomId, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: root } } });
const react = (user: TestUser, roomId: string, target: string, key: string) => send(user, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } }, 'm.reaction');
const edit = (user: TestUser, roomId: string, target: string, body: string) =>
  send(user, roomId, { msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: target } });

async function relations(user: TestUser, roomId: string, rest: string) {
  const result = await getRelations(user, roomId, rest);
  assert.equal(result.status, 200, `${rest}: ${JSON.stringify(result.body)}`);
  await assertMatchesSpec({ method: 'GET', path: relationsPath(roomId, rest), status: 200, body: result.body });
  return result.body;
}
const ids = (chunk: any[]) => chunk.map((event) => event.event_id);

test('relations: all children newest first, by rel_type, by rel_type and event type, paginated both ways', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const root = await say(server, alice, roomId, 'root');
  const reply1 = await threadReply(bob, roomId, root, 'r1');
  const thumbs = await react(bob, roomId, root, '👍');
  const reply2 = await threadReply(alice, roomId, root, 'r2');
  const fixed = await edit(alice, roomId, root, 'root (fixed)');
  await say(server, alice, roomId, 'unrelated');

  assert.deepEqual(ids((await relations(alice, roomId, `${encodeURIComponent(root)}?limit=10`)).chunk), [fixed, reply2, thumbs, reply1]);
  assert.deepEqual(ids((await relations(alice, roomId, `${encodeURIComponent(root)}/m.thread`)).chunk), [reply2, reply1]);
  assert.deepEqual(ids((await relations(alice, roomId, `${encodeURIComponent(root)}/m.annotation/m.reaction`)).chunk), [thumbs]);
  assert.deepEqual((await relations(alice, roomId, `${encodeURIComponent(root)}/m.annotation/m.room.message`)).chunk, []);

  const first = await relations(alice, roomId, `${encodeURIComponent(root)}?limit=2`);
  assert.deepEqual(ids(first.chunk), [fixed, reply2]);
  assert.equal(first.prev_batch, undefined, 'the first page has no prev_batch');
  assert.equal(first.recursion_depth, undefined, 'no recursion_depth unless recurse was given');
  const second = await relations(alice, roomId, `${encodeURIComponent(root)}?limit=2&from=${first.next_batch}`);
  assert.deepEqual(ids(second.chunk), [thumbs, reply1]);
  assert.equal(typeof second.prev_batch, 'string');
  const third = await relations(alice, roomId, `${encodeURIComponent(root)}?limit=2&from=${second.next_batch}`);
  assert.deepEqual(third.chunk, []);
  assert.equal(third.next_batch, undefined);

  const forwards = await relations(alice, roomId, `${encodeURIComponent(root)}?dir=f&limit=3`);
  assert.deepEqual(ids(forwards.chunk), [reply1, thumbs, reply2]);
  const rest = await relations(alice, roomId, `${encodeURIComponent(root)}?dir=f&limit=3&from=${forwards.next_batch}`);
  assert.deepEqual(ids(rest.chunk), [fixed]);
  const bounded = await relations(alice, roomId, `${encodeURIComponent(root)}?from=${first.next_batch}&to=${second.next_batch}`);
  assert.deepEqual(ids(bounded.chunk), [thumbs, reply1], 'to stops the page');

  const messagesToken = (await roomGet(server, alice, roomId, 'messages?dir=b&limit=1')).body.start;
  assert.deepEqual(ids((await relations(alice, roomId, `${encodeURIComponent(root)}/m.thread?from=${messagesToken}`)).chunk), [reply2, reply1], 'a /messages token works as from');
});

test('relations recurse: reactions to thread replies are found with recurse=true, 3 levels deep', async () => {
  const roomId = await createRoom(server, alice);
  const root = await say(server, alice, roomId, 'root');
  const reply = await threadReply(alice, roomId, root, 'reply');
  const level2 = await react(alice, roomId, reply, '🎉');
  const level3 = await send(alice, roomId, { msgtype: 'm.text', body: 'ref', 'm.relates_to': { rel_type: 'm.reference', event_id: level2 } });
  const level4 = await send(alice, roomId, { msgtype: 'm.text', body: 'ref2', 'm.relates_to': { rel_type: 'm.reference', event_id: level3 } });

  assert.deepEqual(ids((await relations(alice, roomId, encodeURIComponent(root))).chunk), [reply]);
  const flat = await relations(alice, roomId, `${encodeURIComponent(root)}?recurse=false`);
  assert.deepEqual(ids(flat.chunk), [reply]);
  assert.equal(flat.recursion_depth, 1);
  const deep = await relations(alice, roomId, `${encodeURIComponent(root)}?recurse=true&limit=10`);
  assert.deepEqual(ids(deep.chunk), [level3, level2, reply], 'three levels, not the fourth');
  assert.ok(!ids(deep.chunk).includes(level4));
  assert.equal(deep.recursion_depth, 3);
  assert.deepEqual(ids((await relations(alice, roomId, `${encodeURIComponent(root)}/m.annotation?recurse=true`)).chunk), [level2], 'filters apply at every level');
});

test('relations refusals: invisible or unknown parents are 404; bad dir, limit, recurse and tokens are 400', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
  const root = await say(server, alice, roomId, 'before bob');
  await threadReply(alice, roomId, root, 'also before bob');
  const rest = encodeURIComponent(root);
  const notFound = { method: 'GET', path: relationsPath(roomId, rest), status: 404, errcode: 'M_NOT_FOUND' };
  await assertRefusal(await getRelations(stranger, roomId, rest), notFound);
  await roomPost(server, bob, roomId, 'join');
  await assertRefusal(await getRelations(bob, roomId, rest), notFound);
  await assertRefusal(await getRelations(alice, roomId, encodeURIComponent('$nope')), notFound);
  const otherRoom = await createRoom(server, alice);
  await assertRefusal(await getRelations(alice, otherRoom, rest), { ...notFound, path: relationsPath(otherRoom, rest) });
  for (const bad of ['dir=x', 'limit=0', 'limit=101', 'limit=ten', 'recurse=yes', 'from=garbage', 'to=s1_x']) {
    const result = await getRelations(alice, roomId, `${rest}?${bad}`);
    await assertRefusal(result, { method: 'GET', path: relationsPath(roomId, rest), status: 400, errcode: 'M_INVALID_PARAM', checkSpec: false, messageIncludes: bad.split('=')[0] });
  }

  // A child the reader may not see is left out even when the parent is visible.
  const shared = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, shared, 'join');
  const parent = await say(server, alice, shared, 'parent');
  await roomPost(server, bob, shared, 'leave');
  await threadReply(alice, shared, parent, 'after bob left');
  assert.deepEqual((await relations(bob, shared, encodeURIComponent(parent))).chunk, []);
});

test('the relation queries use the partial expression indexes of migration 0005', async () => {
  const plan = await server.app.db.connection().execute(async (db) => {
    await sql`SET enable_seqscan = off`.execute(db);
    const rows = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT event_id FROM events WHERE (json->'content'->'m.relates_to'->>'event_id') = '$x' ORDER BY stream_ordering`.execute(db);
    const threads = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT root.event_id, max(reply.stream_ordering) FROM events AS reply
      JOIN events AS root ON root.event_id = (reply.json->'content'->'m.relates_to'->>'event_id') AND root.room_id = reply.room_id
      WHERE reply.room_id = '!r' AND (reply.json->'content'->'m.relates_to'->>'rel_type') = 'm.thread' GROUP BY root.event_id`.execute(db);
    const batch = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT event_id FROM events WHERE (json->'content'->'m.relates_to'->>'event_id') IN ('$a', '$b')
      AND (json->'content'->'m.relates_to'->>'rel_type') IN ('m.replace', 'm.thread')`.execute(db);
    await sql`RESET enable_seqscan`.execute(db);
    assert.match(batch.rows.map((row) => row['QUERY PLAN']).join('\n'), /events_relates_to_idx/, 'bundling\'s batch lookup');
    return [...rows.rows, ...threads.rows].map((row) => row['QUERY PLAN']).join('\n');
  });
  assert.match(plan, /events_relates_to_idx/);
  assert.match(plan, /events_thread_replies_idx/);
});
