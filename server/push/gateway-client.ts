import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AppContext } from '../app-context.ts';
import { createAddressPolicy, type AddressPolicy } from '../media/previews/ip-ranges.ts';
import { resolveAllowedAddress, type ResolvedAddress } from '../media/previews/safe-fetch.ts';

/** The most of a gateway's answer we read (it is `{"rejected": [...]}`). */
const MAX_ANSWER_BYTES = 64 * 1024;
const USER_AGENT = 'Palisade push (Matrix homeserver)';

export type GatewayAnswer = { ok: true; rejected: string[] } | { ok: false; reason: string };

const policies = new WeakMap<AppContext, AddressPolicy>();

/** Push gateways are reached under Synapse's `ip_range_blacklist`/`_whitelist` on top of the built-in private ranges. */
function addressPolicy(app: AppContext): AddressPolicy {
  let policy = policies.get(app);
  if (!policy) policies.set(app, (policy = createAddressPolicy({ blacklist: app.config.ip_range_blacklist, whitelist: app.config.ip_range_whitelist })));
  return policy;
}

/**
 * POSTs one notification to a push gateway. The host is resolved once, every
 * address checked against the policy, and the socket pinned to the checked
 * address (no DNS rebinding); no redirects are followed; one deadline covers
 * the whole exchange. Anything but a 2xx JSON answer is a failure to retry.
 */
export async function postNotification(app: AppContext, url: URL, body: unknown): Promise<GatewayAnswer> {
  let target: ResolvedAddress;
  try {
    target = await resolveAllowedAddress(url.hostname, addressPolicy(app));
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const pinned = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
  const payload = Buffer.from(JSON.stringify(body));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(url, {
      method: 'POST',
      agent: false,
      lookup: pinned,
      signal: AbortSignal.timeout(app.config.push.gateway_timeout),
      headers: { 'content-type': 'application/json', 'content-length': payload.length, 'user-agent': USER_AGENT },
    });
    request.on('error', (error) => resolve({ ok: false, reason: `request failed: ${error.message}` }));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) response.destroy(new Error('answer too large'));
        else chunks.push(chunk);
      });
      response.on('error', (error) => resolve({ ok: false, reason: `answer failed: ${error.message}` }));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) return resolve({ ok: false, reason: `gateway answered HTTP ${status}` });
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { rejected?: unknown };
          const rejected = Array.isArray(parsed?.rejected) ? parsed.rejected.filter((key): key is string => typeof key === 'string') : [];
          resolve({ ok: true, rejected });
        } catch {
          resolve({ ok: false, reason: 'gateway answer is not JSON' });
        }
      });
    });
    request.end(payload);
  });
}
