import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake gateway received, and the status it answered. */
export interface ReceivedPush {
  body: any;
  status: number;
}

export interface FakePushGateway {
  /** The pusher `data.url`: http://127.0.0.1:<port>/_matrix/push/v1/notify */
  url: string;
  received: ReceivedPush[];
  /** Answers to give, in order (status, rejected pushkeys), each to any request or only to one for `pushkey`; otherwise 200 with nothing rejected. */
  script: Array<{ status: number; rejected?: string[]; pushkey?: string }>;
  stop(): Promise<void>;
}

/** A push gateway on 127.0.0.1 speaking the Push Gateway API's notify endpoint. */
export async function startFakePushGateway(): Promise<FakePushGateway> {
  const gateway: Omit<FakePushGateway, 'url' | 'stop'> = { received: [], script: [] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/_matrix/push/v1/notify') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errcode":"M_UNRECOGNIZED"}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const pushkey = body?.notification?.devices?.[0]?.pushkey;
      const index = gateway.script.findIndex((entry) => entry.pushkey === undefined || entry.pushkey === pushkey);
      const answer = index === -1 ? { status: 200, rejected: [] } : gateway.script.splice(index, 1)[0];
      gateway.received.push({ body, status: answer.status });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.status === 200 ? JSON.stringify({ rejected: answer.rejected ?? [] }) : '{"error":"down"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(gateway, {
    url: `http://127.0.0.1:${port}/_matrix/push/v1/notify`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
