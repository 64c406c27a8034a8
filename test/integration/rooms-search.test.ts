import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost, say } from '../support/rooms.ts';

const SEARCH = '/_matrix/client/v3/search';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let roomId: string;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice', { displayname: 'Alice' });
  bob = await registerUser(server.url, 'bob', { displayname: 'Bob' });
  carol = await registerUser(server.url, 'carol');
  roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Fox den', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
  await roomPost(server, bob, roomId, 'join');
  await say(server, alice, roomId, 'the quick brown fox');
  await say(server, bob, roomId, 'a lazy dog sleeps');
  await say(server, bob, roomId, 'Foxes everywhere!');
});
after(() => server.stop());

async function search(user: TestUser, criteria: Record<string, unknown>, nextBatch?: string) {
  const path = nextBatch ? `${SEARCH}?next_batch=${nextBatch}` : SEARCH;
  const result = await request(server.url, 'POST', path, { token: user.accessToken, body: { search_categories: { room_events: criteria } } });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: SEARCH, status: 200, body: result.body });
  return result.body.search_categories.room_events;
}
const texts = (results: any[]) => results.map((item) => item.result.content.body ?? item.result.content.name);

test('search: words as prefixes, all required, in bodies, names and topics; keys and filters narrow it', async () => {
  const fox = await search(alice, { search_term: 'fox', order_by: 'recent' });
  assert.deepEqual(texts(fox.results), ['Foxes everywhere!', 'the quick brown fox', 'Fox den']);
  assert.equal(fox.count, 3);
  const bobsFox = await search(bob, { search_term: 'fox', order_by: 'recent' });
  assert.deepEqual(texts(bobsFox.results), ['Foxes everywhere!', 'the quick brown fox'], 'the name was set before bob joined a joined-only room');
  assert.equal(bobsFox.count, 2, 'the hidden match is not counted either');
  assert.deepEqual(fox.highlights, ['fox']);
  assert.ok(fox.results.every((item: any) => typeof item.rank === 'number'));
  assert.deepEqual(texts((await search(bob, { search_term: 'fox', keys: ['content.body'], order_by: 'recent' })).results), ['Foxes everywhere!', 'the quick brown fox']);
  assert.deepEqual(texts((await search(bob, { search_term: 'QUI brown' })).results), ['the quick brown fox']);
  assert.deepEqual(texts((await search(bob, { search_term: 'quick dog' })).results), []);
  assert.deepEqual(texts((await search(bob, { search_term: 'fox', filter: { senders: [bob.userId] } })).results), ['Foxes everywhere!']);
  assert.deepEqual((await search(bob, { search_term: 'fox', filter: { not_rooms: [roomId] } })).results, []);
  assert.deepEqual((await search(bob, { search_term: '!!! ...' })).results, [], 'no words, no matches');
});

test('search respects history visibility and membership', async () => {
  assert.deepEqual((await search(carol, { search_term: 'fox' })).results, [], 'not in the room');
  await roomPost(server, carol, roomId, 'join');
  await say(server, alice, roomId, 'fox news after carol joined');
  const carolsFox = await search(carol, { search_term: 'fox', order_by: 'recent' });
  assert.deepEqual(texts(carolsFox.results), ['fox news after carol joined'], 'joined-only history hides the rest');
  assert.equal(carolsFox.count, 1, 'hidden history does not show in the count');
  await roomPost(server, carol, roomId, 'leave');
  await say(server, alice, roomId, 'fox after carol left');
  const formerFox = await search(carol, { search_term: 'fox', order_by: 'recent' });
  assert.deepEqual(texts(formerFox.results), ['fox news after carol joined'], 'a former member searches up to the leave');
  assert.equal(formerFox.count, 1, 'nor does what came after the leave');
});

test('search pages by next_batch in both orders; context, profiles, state and groups when asked', async () => {
  const busy = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, busy, 'join');
  for (let i = 1; i <= 12; i++) await say(server, i % 2 ? alice : bob, busy, `report number ${i}`);
  const first = await search(bob, { search_term: 'report', order_by: 'recent', filter: { rooms: [busy] } });
  assert.equal(first.results.length, 10);
  assert.equal(first.count, 12, 'count is every match, not the page');
  assert.equal(texts(first.results)[0], 'report number 12');
  const second = await search(bob, { search_term: 'report', order_by: 'recent', filter: { rooms: [busy] } }, first.next_batch);
  assert.deepEqual(texts(second.results), ['report number 2', 'report number 1']);
  assert.equal(second.next_batch, undefined);
  assert.equal(second.count, 12, 'the same on every page');
  const ranked = await search(bob, { search_term: 'report', filter: { rooms: [busy] } });
  const rankedRest = await search(bob, { search_term: 'report', filter: { rooms: [busy] } }, ranked.next_batch);
  assert.equal(new Set([...texts(ranked.results), ...texts(rankedRest.results)]).size, 12, 'by rank, every result once');

  const detailed = await search(bob, {
    search_term: 'number 6',
    event_context: { before_limit: 1, after_limit: 2, include_profile: true },
    include_state: true,
    groupings: { group_by: [{ key: 'room_id' }, { key: 'sender' }] },
  });
  const [hit] = detailed.results;
  assert.equal(hit.result.content.body, 'report number 6');
  assert.deepEqual(hit.context.events_before.map((event: any) => event.content.body), ['report number 5']);
  assert.deepEqual(hit.context.events_after.map((event: any) => event.content.body), ['report number 7', 'report number 8']);
  assert.equal(hit.context.profile_info[bob.userId].displayname, 'Bob');
  assert.ok(detailed.state[busy].some((event: any) => event.type === 'm.room.create'));
  assert.deepEqual(detailed.groups.room_id[busy].results, [hit.result.event_id]);
  assert.deepEqual(detailed.groups.sender[bob.userId].results, [hit.result.event_id]);
});

test('search refusals: malformed criteria and foreign or garbled tokens', async () => {
  const post = (body: unknown, query = '') => request(server.url, 'POST', `${SEARCH}${query}`, { token: bob.accessToken, body });
  const cases: Array<[unknown, string, string]> = [
    [{}, '', 'M_MISSING_PARAM'],
    [{ search_categories: { room_events: {} } }, '', 'M_MISSING_PARAM'],
    [{ search_categories: { room_events: { search_term: 'x', keys: ['content.secret'] } } }, '', 'M_BAD_JSON'],
    [{ search_categories: { room_events: { search_term: 'x', order_by: 'oldest' } } }, '', 'M_BAD_JSON'],
    [{ search_categories: { room_events: { search_term: 'x', event_context: { before_limit: 21 } } } }, '', 'M_BAD_JSON'],
    [{ search_categories: { room_events: { search_term: 'x' } } }, '?next_batch=garbage', 'M_INVALID_PARAM'],
    [{ search_categories: { room_events: { search_term: 'x', order_by: 'recent' } } }, '?next_batch=k10', 'M_INVALID_PARAM'],
  ];
  for (const [body, query, errcode] of cases) {
    await assertRefusal(await post(body, query), { method: 'POST', path: SEARCH, status: 400, errcode, checkSpec: true });
  }
  const none = await post({ search_categories: {} });
  assert.deepEqual(none.body, { search_categories: {} });
});
