import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { ErrCode, forbidden, MatrixError } from '../../errors.ts';
import type { AddressPolicy } from './ip-ranges.ts';
import type { UrlBlacklist } from './url-blacklist.ts';

/**
 * HTTP GET for URL previews that cannot be pointed at the server's own
 * network. Every hop (redirects are followed by hand) is checked against the
 * URL blacklist, its host resolved once, every address checked against the
 * address policy, and the socket connects to exactly the address that was
 * checked (a custom `lookup`), so DNS rebinding between check and connect is
 * impossible. One deadline covers all hops and the body; the body is cut off
 * at `maxBytes`.
 */
export const MAX_PREVIEW_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'Palisade URL preview (Matrix homeserver)';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
/** Resolves a hostname to every address it has (injectable for tests). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

export interface FetchGuards {
  addresses: AddressPolicy;
  urls: UrlBlacklist;
  resolver?: Resolver;
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
}

export interface GuardedResponse {
  url: URL;
  status: number;
  contentType: string;
  /** The body, failing with 502 M_TOO_LARGE past `maxBytes` and 504 at the deadline. */
  body: Readable;
  /** Releases the deadline timer and the connection; call when done with the body. */
  close(): void;
}

const fetchFailed = (message: string) => new MatrixError(ErrCode.UNKNOWN, message, { status: 502 });
const timedOut = () => new MatrixError(ErrCode.UNKNOWN, 'Timed out fetching the URL to preview', { status: 504 });
const pageTooLarge = (maxBytes: number) => new MatrixError(ErrCode.TOO_LARGE, `The URL's content is larger than the preview limit of ${maxBytes} bytes`, { status: 502 });

/** Parses and checks a URL to fetch: http(s) only, no credentials, not blacklisted. */
export function checkUrl(text: string | URL, urls: UrlBlacklist): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MatrixError(ErrCode.INVALID_PARAM, 'Not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MatrixError(ErrCode.INVALID_PARAM, 'Only http and https URLs can be previewed');
  // Credentials would be sent to the site, kept in the preview cache and could reach the logs.
  if (url.username !== '' || url.password !== '') throw new MatrixError(ErrCode.INVALID_PARAM, 'URLs with credentials cannot be previewed');
  const entry = urls.match(url);
  if (entry) throw forbidden(`URL refused by url_preview_url_blacklist entry ${entry}`);
  return url;
}

/** The one address a hop will connect to: an IP literal as is, or the first resolved address the policy allows. */
export async function resolveAllowedAddress(hostname: string, addresses: AddressPolicy, resolver: Resolver = systemResolver): Promise<ResolvedAddress> {
  const literal = hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(literal);
  if (family) {
    const decision = addresses.check(literal);
    if (!decision.allowed) throw forbidden(`Previews of this address are refused: ${decision.reason}`);
    return { address: literal, family: family === 6 ? 6 : 4 };
  }
  let resolved: ResolvedAddress[];
  try {
    resolved = await resolver(hostname);
  } catch {
    throw fetchFailed(`Could not resolve ${hostname}`);
  }
  const reasons: string[] = [];
  for (const candidate of resolved) {
    const decision = addresses.check(candidate.address);
    if (decision.allowed) return candidate;
    reasons.push(decision.reason);
  }
  throw forbidden(`Previews of ${hostname} are refused: ${reasons.join('; ') || 'it has no addresses'}`);
}

/** GET `url`, following at most `maxRedirects` redirects, each re-checked. Non-2xx final answers are errors. */
export async function guardedGet(urlText: string, guards: FetchGuards, limits: FetchLimits): Promise<GuardedResponse> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(timedOut()), limits.timeoutMs);
  let closed = false;
  // Closing ends the connection quietly; only the deadline is an error.
  const close = () => {
    closed = true;
    clearTimeout(timer);
    abort.abort();
  };
  try {
    let url = checkUrl(urlText, guards.urls);
    for (let hop = 0; ; hop++) {
      const target = await resolveAllowedAddress(url.hostname, guards.addresses, guards.resolver);
      const response = await requestOnce(url, target, abort.signal);
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(response.statusCode ?? 0) && location) {
        response.destroy();
        if (hop >= (limits.maxRedirects ?? MAX_PREVIEW_REDIRECTS)) throw fetchFailed(`Too many redirects (more than ${limits.maxRedirects ?? MAX_PREVIEW_REDIRECTS})`);
        url = checkUrl(new URL(location, url), guards.urls);
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        response.destroy();
        throw fetchFailed(`The URL answered HTTP ${status}`);
      }
      const declared = Number(response.headers['content-length'] ?? NaN);
      if (declared > limits.maxBytes) {
        response.destroy();
        throw pageTooLarge(limits.maxBytes);
      }
      const body = response.pipe(byteLimit(limits.maxBytes));
      response.on('error', (error) => {
        if (!closed) body.destroy(abort.signal.aborted ? timedOut() : error);
      });
      abort.signal.addEventListener('abort', () => (closed ? body.destroy() : body.destroy(timedOut())), { once: true });
      return { url, status, contentType: String(response.headers['content-type'] ?? ''), body, close };
    }
  } catch (error) {
    close();
    if (error instanceof MatrixError) throw error;
    if (abort.signal.aborted) throw timedOut();
    throw fetchFailed(`Could not fetch the URL: ${(error as Error).message}`);
  }
}

function requestOnce(url: URL, target: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
  // Whatever the socket asks (one address or all, any family), it gets the address that was checked.
  const pinned = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'GET',
      agent: false,
      lookup: pinned,
      signal,
      headers: { 'user-agent': USER_AGENT, accept: 'text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.5' },
    });
    request.once('response', resolve);
    // `on`, not `once`: aborting after the answer (close or deadline) errors the request again.
    request.on('error', (error) => reject(signal.aborted ? timedOut() : error));
    request.end();
  });
}

function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) return callback(pageTooLarge(maxBytes));
      callback(null, chunk);
    },
  });
}
