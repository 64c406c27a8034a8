import type { Registration } from './registration.ts';

/** Ping and transaction timeouts are configured (`appservice_timeouts`); queries wait this long. */
export const QUERY_TIMEOUT_MS = 10_000;
/** How much of an appservice's reply body is read (for error reports); the rest is discarded. */
const MAX_REPLY_BYTES = 16 * 1024;

export type AppserviceReply =
  | { kind: 'answered'; status: number; body: string }
  | { kind: 'timeout' }
  | { kind: 'unreachable'; reason: string };

/**
 * One request from the homeserver to an appservice (`/_matrix/app/v1/...`),
 * authenticated with its `hs_token`, bounded in time and in what is read back.
 */
export async function callAppservice(
  registration: Registration,
  request: { method: 'GET' | 'PUT' | 'POST'; path: string; body?: unknown; timeoutMs: number; maxReplyBytes?: number },
): Promise<AppserviceReply> {
  if (!registration.url) return { kind: 'unreachable', reason: 'the appservice has no url' };
  const url = `${registration.url.replace(/\/+$/, '')}${request.path}`;
  try {
    const response = await fetch(url, {
      method: request.method,
      headers: {
        authorization: `Bearer ${registration.hsToken}`,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: 'manual',
    });
    return { kind: 'answered', status: response.status, body: await readBounded(response, request.maxReplyBytes ?? MAX_REPLY_BYTES) };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'timeout' };
    return { kind: 'unreachable', reason: (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message };
  }
}

async function readBounded(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  // Past the limit the reply is cut, so a JSON body that large no longer parses: too large counts as no answer.
  return Buffer.concat(chunks).subarray(0, limit + 1).toString('utf8');
}
