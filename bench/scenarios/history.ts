import { request } from '../../test/support/http.ts';
import { benchUser, expectOk, runConcurrently, summarise, type BenchServer } from '../support.ts';
import { createRoom, sendText, sync } from './rooms-api.ts';

/** Initial sync of a user in `rooms` rooms with `eventsPerRoom` messages each. */
export async function initialSync(server: BenchServer, options: { rooms: number; eventsPerRoom: number; samples: number }) {
  const user = await benchUser(server, 'many-rooms');
  const roomIds: string[] = [];
  for (let r = 0; r < options.rooms; r++) roomIds.push(await createRoom(server.url, user, { preset: 'private_chat', name: `room ${r}` }));
  await runConcurrently(options.rooms * options.eventsPerRoom, 8, (index) =>
    sendText(server.url, user, roomIds[index % roomIds.length], `history ${index}`).then(() => undefined),
  );
  const times: number[] = [];
  for (let s = 0; s < options.samples; s++) {
    const begin = performance.now();
    const body = await sync(server.url, user, 'timeout=0');
    times.push(performance.now() - begin);
    const joined = Object.keys(body.rooms?.join ?? {}).length;
    if (joined !== options.rooms) throw new Error(`initial sync returned ${joined} rooms, expected ${options.rooms}`);
  }
  const summary = summarise(times, 1);
  return { rooms: options.rooms, events: options.rooms * options.eventsPerRoom, p50_ms: summary.p50_ms, max_ms: Math.max(...times.map(Math.round)) };
}

/** /messages latency at the newest and the oldest end of a room with `events` messages. */
export async function messagesLatency(server: BenchServer, options: { events: number; samples: number }) {
  const user = await benchUser(server, 'long-history');
  const roomId = await createRoom(server.url, user, { preset: 'private_chat' });
  await runConcurrently(options.events, 8, (index) => sendText(server.url, user, roomId, `long ${index}`).then(() => undefined));
  const path = (query: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${query}`;
  const measure = async (query: string) => {
    const times: number[] = [];
    for (let s = 0; s < options.samples; s++) {
      const begin = performance.now();
      const body = await expectOk(request(server.url, 'GET', path(query), { token: user.accessToken }), 'messages');
      times.push(performance.now() - begin);
      if ((body.chunk ?? []).length === 0) throw new Error(`/messages returned no events for ${query}`);
    }
    return summarise(times, 1);
  };
  const newest = await measure('dir=b&limit=20');
  const oldest = await measure('dir=f&limit=20');
  return { events: options.events, newest_p50_ms: newest.p50_ms, newest_p99_ms: newest.p99_ms, oldest_p50_ms: oldest.p50_ms, oldest_p99_ms: oldest.p99_ms };
}
