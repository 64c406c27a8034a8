import type { TestUser } from '../../test/support/http.ts';
import { benchUser, runConcurrently, type BenchServer, type LatencySummary } from '../support.ts';
import { createRoom, joinRoom, sendText } from './rooms-api.ts';

/** `senders` users in one room (or spread over `rooms` rooms), `total` messages, each user sending in turn. */
export async function sendThroughput(
  server: BenchServer,
  options: { label: string; total: number; senders: number; rooms: number },
): Promise<LatencySummary> {
  const users: TestUser[] = [];
  for (let i = 0; i < options.senders; i++) users.push(await benchUser(server, `${options.label}-s${i}`));
  const roomIds: string[] = [];
  for (let r = 0; r < options.rooms; r++) roomIds.push(await createRoom(server.url, users[0], { preset: 'public_chat' }));
  for (const user of users.slice(1)) for (const roomId of roomIds) await joinRoom(server.url, user, roomId);
  return runConcurrently(options.total, options.senders, (index, worker) =>
    sendText(server.url, users[worker], roomIds[index % roomIds.length], `message ${index}`).then(() => undefined),
  );
}
