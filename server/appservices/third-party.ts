import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { callAppservice, QUERY_TIMEOUT_MS } from './appservice-client.ts';
import type { Registration } from './registration.ts';

/** Third-party lookups return lists; an appservice's answer beyond this is dropped. */
const MAX_THIRD_PARTY_REPLY_BYTES = 1024 * 1024;
/** Results passed on per lookup, all appservices together. */
const MAX_THIRD_PARTY_RESULTS = 1000;

/**
 * Spec (Client-Server API, "Third-party networks"): the homeserver passes
 * protocol, location and user lookups to the appservices that declare the
 * protocol (`protocols` in their registration) and merges their answers. An
 * appservice that fails, times out or answers malformed JSON is left out.
 */
export async function thirdPartyProtocols(app: AppContext): Promise<Record<string, unknown>> {
  const protocols = new Set(app.appservices.all().flatMap((registration) => registration.protocols));
  const result: Record<string, unknown> = {};
  for (const protocol of protocols) {
    const metadata = await protocolMetadata(app, protocol);
    if (metadata) result[protocol] = metadata;
  }
  return result;
}

export async function thirdPartyProtocol(app: AppContext, protocol: string): Promise<unknown> {
  const metadata = await protocolMetadata(app, protocol);
  if (!metadata) throw notFound(`No application service offers the protocol ${protocol}`);
  return metadata;
}

/** `kind` lookups within one protocol (`fields` as given by the client), or across all by `alias` / `userid`. */
export async function thirdPartyLookup(
  app: AppContext,
  kind: 'location' | 'user',
  protocol: string | undefined,
  query: Record<string, string>,
): Promise<unknown[]> {
  const search = new URLSearchParams(query).toString();
  const path = `/_matrix/app/v1/thirdparty/${kind}${protocol === undefined ? '' : `/${encodeURIComponent(protocol)}`}${search ? `?${search}` : ''}`;
  const asked = protocol === undefined ? app.appservices.all().filter((registration) => registration.protocols.length > 0) : declaring(app, protocol);
  const answers = await Promise.all(asked.map((registration) => askJson(app, registration, path)));
  return answers.flatMap((answer) => (Array.isArray(answer) ? answer.filter(isObject) : [])).slice(0, MAX_THIRD_PARTY_RESULTS);
}

/** Each declaring appservice's metadata; their `instances` are merged, as Synapse does, the rest taken from the first. */
async function protocolMetadata(app: AppContext, protocol: string): Promise<Record<string, unknown> | undefined> {
  const answers = (await Promise.all(declaring(app, protocol).map((registration) => askJson(app, registration, `/_matrix/app/v1/thirdparty/protocol/${encodeURIComponent(protocol)}`)))).filter(isObject);
  if (answers.length === 0) return undefined;
  const instances = answers.flatMap((answer) => (Array.isArray(answer.instances) ? answer.instances.filter(isObject) : []));
  return { ...answers[0], instances };
}

function declaring(app: AppContext, protocol: string): Registration[] {
  return app.appservices.all().filter((registration) => registration.url && registration.protocols.includes(protocol));
}

async function askJson(app: AppContext, registration: Registration, path: string): Promise<unknown> {
  const reply = await callAppservice(registration, { method: 'GET', path, timeoutMs: QUERY_TIMEOUT_MS, maxReplyBytes: MAX_THIRD_PARTY_REPLY_BYTES });
  if (reply.kind !== 'answered' || reply.status !== 200) {
    if (reply.kind !== 'answered' || reply.status >= 500) app.logger.warn({ appservice: registration.id, outcome: reply.kind === 'answered' ? reply.status : reply.kind }, 'appservice third-party lookup failed');
    return undefined;
  }
  try {
    return JSON.parse(reply.body);
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
