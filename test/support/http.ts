import { createHmac } from 'node:crypto';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One JSON request to the server; `body` may be a string to send malformed JSON. */
export async function request<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(new URL(path, baseUrl), { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Non-JSON bodies (health, metrics) stay text.
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export interface TestUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

/** Registers through Synapse's shared-secret API (test servers use `test-shared-secret`). */
export async function registerUser(
  baseUrl: string,
  localpart: string,
  options: { password?: string; admin?: boolean; secret?: string; displayname?: string } = {},
): Promise<TestUser> {
  const password = options.password ?? `pw-${localpart}-secret`;
  const admin = options.admin ?? false;
  const { body: nonceBody } = await request(baseUrl, 'GET', '/_synapse/admin/v1/register');
  const mac = createHmac('sha1', options.secret ?? 'test-shared-secret')
    .update([nonceBody.nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0'))
    .digest('hex');
  const result = await request(baseUrl, 'POST', '/_synapse/admin/v1/register', {
    body: { nonce: nonceBody.nonce, username: localpart, password, admin, mac, ...(options.displayname ? { displayname: options.displayname } : {}) },
  });
  if (result.status !== 200) throw new Error(`registering ${localpart} failed: ${JSON.stringify(result.body)}`);
  return { userId: result.body.user_id, accessToken: result.body.access_token, deviceId: result.body.device_id, password };
}
