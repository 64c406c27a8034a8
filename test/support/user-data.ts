import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { request, type HttpResult, type TestUser } from './http.ts';
import type { TestServer } from './server.ts';
import { assertMatchesSpec } from './spec-schema.ts';

/** Requests a user makes against their own (or, in refusal tests, someone else's) per-user data. */
export async function userRequest(server: TestServer, user: TestUser, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const result = await request(server.url, method, path, { token: user.accessToken, body });
  if (result.status === 200) await assertMatchesSpec({ method, path: path.split('?')[0], status: 200, body: result.body });
  return result;
}

export function accountDataPath(userId: string, type: string, roomId?: string): string {
  const user = encodeURIComponent(userId);
  return roomId === undefined
    ? `/_matrix/client/v3/user/${user}/account_data/${encodeURIComponent(type)}`
    : `/_matrix/client/v3/user/${user}/rooms/${encodeURIComponent(roomId)}/account_data/${encodeURIComponent(type)}`;
}

export async function putAccountData(server: TestServer, user: TestUser, type: string, content: unknown, roomId?: string): Promise<void> {
  const result = await userRequest(server, user, 'PUT', accountDataPath(user.userId, type, roomId), content);
  assert.equal(result.status, 200, `account data: ${JSON.stringify(result.body)}`);
}

/**
 * Every row of the per-user tables as sorted JSON text: what a refused request
 * must leave exactly as it was.
 */
export async function userDataSnapshot(server: TestServer): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const table of ['account_data', 'receipts', 'users', 'presence']) {
    const { rows } = await sql<{ row: string }>`SELECT row_to_json(t)::text AS row FROM ${sql.table(table)} t`.execute(server.app.db);
    snapshot[table] = rows.map((entry) => entry.row).sort();
  }
  return snapshot;
}
