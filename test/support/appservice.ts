import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

export interface ReceivedTransaction {
  txnId: string;
  body: any;
  /** The status the fake answered with; 0 while hanging (never answered). */
  answered: number;
  /** `performance.now()` when it arrived. */
  receivedAt: number;
}

/**
 * A small appservice on 127.0.0.1 speaking the real wire format: records every
 * transaction and ping (checking the hs_token), answers with the statuses
 * queued in `failNext` first, then 200.
 */
export interface FakeAppservice {
  url: string;
  transactions: ReceivedTransaction[];
  /** Transactions answered 200, in arrival order. */
  accepted(): ReceivedTransaction[];
  pings: Array<{ transaction_id?: string }>;
  /** Statuses to answer the next transactions with (then 200 again). */
  failNext: number[];
  /** While true, every transaction is answered 503 (the appservice is "down"). */
  down: boolean;
  /** Milliseconds to wait before answering each transaction (a slow appservice). */
  delayMs: number;
  /** While true, transactions (or pings) that arrive are never answered (a hung appservice). */
  hangTransactions: boolean;
  hangPings: boolean;
  /** Transaction requests open right now, and the most ever open at once. */
  inFlight: number;
  maxInFlight: number;
  /** Answers `GET /_matrix/app/v1/users/{userId}` and `/rooms/{alias}` (default 404); may create the thing first. */
  onQuery?: (kind: 'users' | 'rooms', id: string) => Promise<number>;
  queries: Array<{ kind: 'users' | 'rooms'; id: string }>;
  /** Answers any other request (third-party lookups): status and raw body text; default 404. */
  onOther?: (method: string, url: string) => { status: number; body: string } | undefined;
  others: string[];
  unauthorised: number;
  close(): Promise<void>;
}

export async function startFakeAppservice(hsToken: string, options: { pingStatus?: number } = {}): Promise<FakeAppservice> {
  const fake: Omit<FakeAppservice, 'url' | 'close'> = {
    transactions: [],
    accepted: () => fake.transactions.filter((transaction) => transaction.answered === 200),
    pings: [],
    failNext: [],
    down: false,
    delayMs: 0,
    hangTransactions: false,
    hangPings: false,
    inFlight: 0,
    maxInFlight: 0,
    unauthorised: 0,
    queries: [],
    others: [],
  };
  const server: Server = createServer(async (request, response) => {
    const body = await readJson(request);
    if (request.headers.authorization !== `Bearer ${hsToken}`) {
      fake.unauthorised += 1;
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode: 'M_UNKNOWN_TOKEN', error: 'bad hs_token' }));
      return;
    }
    const transaction = /^\/_matrix\/app\/v1\/transactions\/([^/?]+)$/.exec(request.url ?? '');
    if (request.method === 'PUT' && transaction) {
      const receivedAt = performance.now();
      fake.inFlight += 1;
      fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight);
      response.once('close', () => (fake.inFlight -= 1));
      if (fake.hangTransactions) {
        fake.transactions.push({ txnId: decodeURIComponent(transaction[1]), body, answered: 0, receivedAt });
        return;
      }
      if (fake.delayMs > 0) await new Promise((resolveDelay) => setTimeout(resolveDelay, fake.delayMs));
      const status = fake.down ? 503 : (fake.failNext.shift() ?? 200);
      fake.transactions.push({ txnId: decodeURIComponent(transaction[1]), body, answered: status, receivedAt });
      response.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"errcode":"M_UNKNOWN","error":"try later"}');
      return;
    }
    const query = /^\/_matrix\/app\/v1\/(users|rooms)\/([^/?]+)$/.exec(request.url ?? '');
    if (request.method === 'GET' && query) {
      const kind = query[1] as 'users' | 'rooms';
      const id = decodeURIComponent(query[2]);
      fake.queries.push({ kind, id });
      const status = (await fake.onQuery?.(kind, id)) ?? 404;
      response.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"errcode":"M_NOT_FOUND","error":"no"}');
      return;
    }
    if (request.method === 'POST' && request.url === '/_matrix/app/v1/ping') {
      fake.pings.push(body);
      if (fake.hangPings) return;
      const status = options.pingStatus ?? 200;
      response.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"errcode":"M_UNKNOWN","error":"not today"}');
      return;
    }
    fake.others.push(`${request.method} ${request.url}`);
    const other = fake.onOther?.(request.method ?? 'GET', request.url ?? '/');
    if (other) {
      response.writeHead(other.status, { 'content-type': 'application/json' }).end(other.body);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"errcode":"M_UNRECOGNIZED","error":"no such endpoint"}');
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  });
}

async function readJson(request: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export interface TestRegistration {
  id: string;
  url: string | null;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  namespaces: { users?: Array<{ regex: string; exclusive: boolean }>; aliases?: Array<{ regex: string; exclusive: boolean }>; rooms?: Array<{ regex: string; exclusive: boolean }> };
  rate_limited?: boolean;
  [key: string]: unknown;
}

/** A registration with fresh tokens; `overrides` on top. */
export function makeRegistration(id: string, overrides: Partial<TestRegistration> = {}): TestRegistration {
  return {
    id,
    url: null,
    as_token: `as-${id}-${randomBytes(8).toString('hex')}`,
    hs_token: `hs-${id}-${randomBytes(8).toString('hex')}`,
    sender_localpart: `${id}_bot`,
    namespaces: { users: [{ regex: `@${id}_.*:localhost`, exclusive: true }], aliases: [], rooms: [] },
    ...overrides,
  };
}

/** Writes registrations (objects, or raw YAML text) to files in a temporary folder, returning their paths. */
export function writeRegistrationFiles(registrations: Array<TestRegistration | string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-as-'));
  return registrations.map((registration, index) => {
    const path = join(dir, `registration-${index}.yaml`);
    writeFileSync(path, typeof registration === 'string' ? registration : stringify(registration));
    return path;
  });
}
