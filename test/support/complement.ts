import assert from 'node:assert/strict';
import { request, type HttpResult, type TestUser } from './http.ts';
import type { TestServer } from './server.ts';

/**
 * Short request helpers for the Complement-mirroring tests
 * (test/integration/complement-*.test.ts), which make many small calls.
 * `path` is relative to /_matrix/client/ (e.g. `v3/createRoom`).
 */
export function clientOf(server: TestServer, user?: TestUser) {
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult> =>
    request(server.url, method, path.startsWith('/') ? path : `/_matrix/client/${path}`, { token: user?.accessToken, body, headers });
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown = {}) => call('POST', path, body),
    put: (path: string, body: unknown = {}) => call('PUT', path, body),
    delete: (path: string, body?: unknown) => call('DELETE', path, body),
    call,
  };
}

/** Encodes a path segment (room IDs, aliases, user IDs). */
export const seg = encodeURIComponent;

/** Asserts a status (and errcode, when given), showing the body on failure. */
export function expectStatus(result: HttpResult, status: number, errcode?: string): void {
  assert.equal(result.status, status, JSON.stringify(result.body));
  if (errcode) assert.equal(result.body?.errcode, errcode, JSON.stringify(result.body));
}

/** Logs in with a password; returns the session. */
export async function loginAs(server: TestServer, user: string, password: string, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const result = await request(server.url, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra },
  });
  expectStatus(result, 200);
  return { userId: result.body.user_id, accessToken: result.body.access_token, deviceId: result.body.device_id, password };
}

/** POST /register through the m.login.dummy stage; returns the final response. */
export async function registerThroughUia(server: TestServer, body: Record<string, unknown>): Promise<HttpResult> {
  const challenge = await request(server.url, 'POST', '/_matrix/client/v3/register', { body });
  if (challenge.status !== 401) return challenge;
  return request(server.url, 'POST', '/_matrix/client/v3/register', { body: { ...body, auth: { type: 'm.login.dummy', session: challenge.body.session } } });
}

/** Completes a UIA-protected request with the user's password. */
export async function withPassword(server: TestServer, user: TestUser, method: string, path: string, body: Record<string, unknown> = {}, password = user.password): Promise<HttpResult> {
  const client = clientOf(server, user);
  const challenge = await client.call(method, path, body);
  if (challenge.status !== 401) return challenge;
  return client.call(method, path, { ...body, auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password, session: challenge.body.session } });
}
