import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, request, type TestUser } from '../test/support/http.ts';
import { waitFor } from '../test/support/wait-for.ts';

export interface BenchServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const UNLIMITED = { per_second: 1_000_000, burst_count: 1_000_000 };

/** The real server in its own process (the load generator shares the machine, as the targets assume). */
export async function startBenchServer(databaseUrl: string, extraEnv: Record<string, string> = {}, extraConfig: Record<string, unknown> = {}): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const config = join(dir, 'palisade.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      data_dir: join(dir, 'data'),
      log_level: 'warn',
      registration_shared_secret: 'bench-secret',
      rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
      rc_registration: UNLIMITED,
      rc_message: UNLIMITED,
      ...extraConfig,
    }),
  );
  const child = spawn(process.execPath, ['server/main.ts', '--config', config], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), ...extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the bench server', () => request(url, 'GET', '/health').then((res) => (res.status === 200 ? true : undefined)), 60_000, 100);
  return {
    url,
    process: child,
    stop: () =>
      new Promise((resolveStop) => {
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
      }),
  };
}

export function benchUser(server: BenchServer, name: string): Promise<TestUser> {
  return registerUser(server.url, name, { secret: 'bench-secret' });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', () => resolveListen()));
  const { port } = server.address() as { port: number };
  await new Promise((resolveClose) => server.close(resolveClose));
  return port;
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const index = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)];
}

export interface LatencySummary {
  count: number;
  seconds: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
}

/** Runs `workers` loops until `total` operations are done; each operation's latency is recorded. */
export async function runConcurrently(total: number, workers: number, operation: (index: number, worker: number) => Promise<void>): Promise<LatencySummary> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (next < total) {
        const index = next++;
        const begin = performance.now();
        await operation(index, worker);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return summarise(latencies, seconds);
}

export function summarise(latencies: number[], seconds: number): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    seconds: round(seconds),
    per_second: round(sorted.length / seconds),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
  };
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Fails loudly: a benchmark that measured errors would report nonsense. */
export async function expectOk<T = any>(promise: Promise<{ status: number; body: T }>, what: string): Promise<T> {
  const res = await promise;
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
