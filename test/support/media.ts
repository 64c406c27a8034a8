import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { request, type HttpResult, type TestUser } from './http.ts';
import type { TestServer } from './server.ts';

/** POST /_matrix/media/v3/upload with a buffer body; returns the JSON result. */
export async function uploadBytes(
  server: TestServer,
  user: TestUser,
  bytes: Uint8Array,
  options: { contentType?: string; filename?: string } = {},
): Promise<HttpResult> {
  const query = options.filename !== undefined ? `?filename=${encodeURIComponent(options.filename)}` : '';
  const response = await fetch(new URL(`/_matrix/media/v3/upload${query}`, server.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${user.accessToken}`, ...(options.contentType ? { 'content-type': options.contentType } : {}) },
    body: bytes,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** The media ID part of an mxc URI. */
export function mediaIdOf(mxc: string): string {
  return mxc.split('/').pop()!;
}

/** GET of media bytes (download or thumbnail), with or without a token. */
export async function getMedia(server: TestServer, path: string, token?: string): Promise<{ status: number; bytes: Buffer; headers: Headers; json: any }> {
  const response = await fetch(new URL(path, server.url), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const bytes = Buffer.from(await response.arrayBuffer());
  let json: any;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) json = JSON.parse(bytes.toString('utf8'));
  return { status: response.status, bytes, headers: response.headers, json };
}

/**
 * Streams `body` to the server with node:http (chunked when no length is
 * given) and reads the answer even if the server answers and closes before
 * the body is all sent (an upload refused mid-stream).
 */
export function streamRequest(
  server: TestServer,
  method: string,
  path: string,
  body: Readable,
  headers: Record<string, string>,
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, server.url), { method, headers });
    let answered = false;
    req.once('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
      });
      response.once('error', reject);
    });
    req.once('error', (error) => {
      if (!answered) reject(error);
    });
    // The server may answer and close before the body is all sent; the request's own 'error' decides.
    pipeline(body, req as unknown as Writable).catch(() => undefined);
  });
}

/** `total` bytes of a repeating pattern, produced chunk by chunk (never one big buffer). */
export function patternStream(total: number, chunkSize = 1024 * 1024): Readable {
  const chunk = Buffer.alloc(chunkSize);
  for (let i = 0; i < chunkSize; i++) chunk[i] = (i * 31 + 7) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const size = Math.min(chunkSize, total - sent);
      sent += size;
      this.push(size === chunkSize ? chunk : chunk.subarray(0, size));
    },
  });
}

export function authed(path: string): string {
  return `/_matrix/client/v1/media/${path}`;
}

export function legacy(path: string): string {
  return `/_matrix/media/v3/${path}`;
}

export { request };
