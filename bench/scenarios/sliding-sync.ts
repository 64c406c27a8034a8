import { request } from '../../test/support/http.ts';
import { benchUser, expectOk, runConcurrently, summarise, type BenchServer } from '../support.ts';
import { createRoom, sendText } from './rooms-api.ts';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

/**
 * Sliding sync (MSC4186) as Element X starts it: a new connection with one
 * list of range 0-19 and timeline_limit 1, for a user in `rooms` rooms with a
 * message each. Each sample is a new connection. Also the incremental answer
 * after a message in one room (the room moving to the top of the list).
 */
export async function slidingSyncLatency(server: BenchServer, options: { rooms: number; samples: number }) {
  const user = await benchUser(server, 'sliding');
  const roomIds: string[] = new Array(options.rooms);
  await runConcurrently(options.rooms, 8, async (index) => {
    roomIds[index] = await createRoom(server.url, user, { preset: 'private_chat', name: `room ${index}` });
    await sendText(server.url, user, roomIds[index], `hello ${index}`);
  });
  const body = { conn_id: 'bench', lists: { all: { ranges: [[0, 19]], timeline_limit: 1, required_state: [['m.room.name', ''], ['m.room.avatar', ''], ['m.room.encryption', '']] } } };
  const post = (query = '') => expectOk(request(server.url, 'POST', `${PATH}${query}`, { token: user.accessToken, body }), 'sliding sync');

  const initial: number[] = [];
  let pos = '';
  for (let s = 0; s < options.samples; s++) {
    const begin = performance.now();
    const response = await post();
    initial.push(performance.now() - begin);
    const count = response.lists?.all?.count;
    const sent = Object.keys(response.rooms ?? {}).length;
    if (count !== options.rooms || sent !== Math.min(20, options.rooms)) throw new Error(`sliding sync listed ${count} rooms and sent ${sent}`);
    pos = response.pos;
  }
  const incremental: number[] = [];
  for (let s = 0; s < options.samples; s++) {
    await sendText(server.url, user, roomIds[(s * 7919) % roomIds.length], `bump ${s}`);
    const begin = performance.now();
    const response = await post(`?pos=${pos}&timeout=0`);
    incremental.push(performance.now() - begin);
    if (Object.keys(response.rooms ?? {}).length !== 1) throw new Error('the bumped room was not the one room sent');
    pos = response.pos;
  }
  const first = summarise(initial, 1);
  const next = summarise(incremental, 1);
  return { rooms: options.rooms, initial_p50_ms: first.p50_ms, initial_max_ms: Math.max(...initial.map(Math.round)), incremental_p50_ms: next.p50_ms, incremental_max_ms: Math.max(...incremental.map(Math.round)) };
}
