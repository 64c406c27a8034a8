import assert from 'node:assert/strict';
import { request, type TestUser } from './http.ts';
import type { TestServer } from './server.ts';
import { assertMatchesSpec } from './spec-schema.ts';

let txnCounter = 0;

/** POST /createRoom as `user`; fails the test unless it succeeds. Returns the room ID. */
export async function createRoom(server: TestServer, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const result = await request(server.url, 'POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body });
  assert.equal(result.status, 200, `createRoom: ${JSON.stringify(result.body)}`);
  return result.body.room_id;
}

/** Sends a message event; returns the raw result so refusals can be checked. */
export function sendMessage(server: TestServer, user: TestUser, roomId: string, content: unknown = { msgtype: 'm.text', body: 'hello' }, txnId = `t${++txnCounter}`, type = 'm.room.message') {
  return request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/${txnId}`, { token: user.accessToken, body: content });
}

/** Sends a text message and returns its event ID, failing the test on refusal. */
export async function say(server: TestServer, user: TestUser, roomId: string, body: string): Promise<string> {
  const result = await sendMessage(server, user, roomId, { msgtype: 'm.text', body });
  assert.equal(result.status, 200, `send: ${JSON.stringify(result.body)}`);
  return result.body.event_id;
}

export function roomPost(server: TestServer, user: TestUser, roomId: string, action: string, body: Record<string, unknown> = {}) {
  return request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/${action}`, { token: user.accessToken, body });
}

export function putState(server: TestServer, user: TestUser, roomId: string, type: string, stateKey: string, content: unknown) {
  return request(server.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${type}/${encodeURIComponent(stateKey)}`, { token: user.accessToken, body: content });
}

export function roomGet(server: TestServer, user: TestUser, roomId: string, rest: string) {
  return request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/${rest}`, { token: user.accessToken });
}

/** GET /sync with query parameters; checks the response against the spec. */
export async function syncOnce(server: TestServer, user: TestUser, query: Record<string, string> = {}) {
  const path = `/_matrix/client/v3/sync?${new URLSearchParams(query)}`;
  const result = await request(server.url, 'GET', path, { token: user.accessToken });
  assert.equal(result.status, 200, `sync: ${JSON.stringify(result.body)}`);
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: result.body });
  return result.body;
}

/** Everything a refused request must leave untouched: the room's events and its current state. */
export async function roomSnapshot(server: TestServer, roomId: string): Promise<unknown> {
  const db = server.app.db;
  const events = await db.selectFrom('events').select(['event_id', 'redacted_because']).where('room_id', '=', roomId).orderBy('stream_ordering').execute();
  const state = await db.selectFrom('current_state').select(['type', 'state_key', 'event_id']).where('room_id', '=', roomId).orderBy('type').orderBy('state_key').execute();
  const members = await db.selectFrom('room_memberships').select(['user_id', 'membership', 'forgotten']).where('room_id', '=', roomId).orderBy('user_id').execute();
  return { events, state, members };
}
