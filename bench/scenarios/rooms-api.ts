import { request, type TestUser } from '../../test/support/http.ts';
import { expectOk } from '../support.ts';

/** The few Client-Server calls the benchmarks make, each failing loudly. */
export async function createRoom(url: string, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const created = await expectOk(request(url, 'POST', '/_matrix/client/v3/createRoom', { token: user.accessToken, body }), 'createRoom');
  return created.room_id as string;
}

export async function joinRoom(url: string, user: TestUser, roomId: string): Promise<void> {
  await expectOk(request(url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: user.accessToken, body: {} }), 'join');
}

let txn = 0;
export async function sendText(url: string, user: TestUser, roomId: string, body: string): Promise<string> {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${process.pid}-${txn++}`;
  const sent = await expectOk(request(url, 'PUT', path, { token: user.accessToken, body: { msgtype: 'm.text', body } }), 'send');
  return sent.event_id as string;
}

export async function sync(url: string, user: TestUser, query: string): Promise<any> {
  return expectOk(request(url, 'GET', `/_matrix/client/v3/sync?${query}`, { token: user.accessToken }), 'sync');
}
