import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isValidRange } from './media/previews/ip-ranges.ts';
import { urlBlacklistProblems } from './media/previews/url-blacklist.ts';

/**
 * One validated config object. Keys follow Synapse's names wherever the
 * concept is the same, so an admin moving from Synapse recognises them.
 * Unknown keys and bad values stop the server with every problem named.
 */

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Synapse accepts sizes as a byte count or a string like "50M". */
const SIZE_HINT = 'expected a size such as 52428800 or "50M"';
const ByteSize = z.union(
  [
    z.number().int().nonnegative(),
    z.string().regex(/^\d+\s*[KMG]?$/i, SIZE_HINT).transform((text) => {
      const match = /^(\d+)\s*([KMG]?)$/i.exec(text)!;
      return Number(match[1]) * SIZE_UNITS[match[2].toUpperCase()];
    }),
  ],
  // Otherwise a bad size is only "Invalid input".
  { error: SIZE_HINT },
);

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Synapse accepts durations as milliseconds or a string like "7d" (units ms, s, m, h, d, w, y). */
const Duration = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+\s*(ms|s|m|h|d|w|y)$/, 'expected a duration such as 604800000 or "7d"').transform((text) => {
    const match = /^(\d+)\s*(ms|s|m|h|d|w|y)$/.exec(text)!;
    return Number(match[1]) * DURATION_UNITS_MS[match[2]];
  }),
]);

/** An IPv4 or IPv6 CIDR range, or a single address. */
const CidrRange = z.string().refine((text) => isValidRange(text), 'expected an IP range such as 10.0.0.0/8 or fc00::/7');

const RateLimit = z.strictObject({
  per_second: z.number().positive(),
  burst_count: z.number().int().positive(),
});

const Listener = z.strictObject({
  port: z.number().int().min(0).max(65535),
  bind_addresses: z.array(z.string().min(1)).min(1).default(['127.0.0.1']),
  type: z.enum(['http', 'metrics']).default('http'),
  tls: z.literal(false).optional(),
  x_forwarded: z.boolean().default(false),
  resources: z.array(z.strictObject({ names: z.array(z.string()), compress: z.boolean().optional() })).optional(),
});

const DatabaseArgs = z.strictObject({
  user: z.string().optional(),
  password: z.string().optional(),
  dbname: z.string().optional(),
  database: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().positive().optional(),
  cp_min: z.number().int().nonnegative().optional(),
  cp_max: z.number().int().positive().optional(),
});

const ConfigFile = z.strictObject({
  server_name: z.string().regex(/^[A-Za-z0-9.\-:[\]]+$/, 'expected a server name such as example.org').default('localhost'),
  public_baseurl: z.url().optional(),
  data_dir: z.string().min(1).default('data'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  listeners: z.array(Listener).min(1).default([{ port: 8008, bind_addresses: ['127.0.0.1'], type: 'http', x_forwarded: false }]),
  enable_metrics: z.boolean().default(false),
  database: z.strictObject({ name: z.enum(['psycopg2', 'postgres']), args: DatabaseArgs.default({}) }).optional(),
  redis: z
    .strictObject({
      enabled: z.boolean().default(false),
      host: z.string().default('127.0.0.1'),
      port: z.number().int().positive().default(6379),
      password: z.string().optional(),
      dbid: z.number().int().nonnegative().optional(),
    })
    .optional(),
  enable_registration: z.boolean().default(false),
  enable_registration_without_verification: z.boolean().default(false),
  registration_requires_token: z.boolean().default(false),
  registration_shared_secret: z.string().min(1).optional(),
  registration_shared_secret_path: z.string().min(1).optional(),
  allow_guest_access: z.literal(false).default(false),
  signing_key_path: z.string().min(1).optional(),
  app_service_config_files: z.array(z.string().min(1)).default([]),
  /** How long the homeserver waits for an appservice's answer to a ping and to a transaction. Palisade's own key. */
  appservice_timeouts: z
    .strictObject({ ping: Duration.default(10_000), transaction: Duration.default(30_000) })
    .default({ ping: 10_000, transaction: 30_000 }),
  max_upload_size: ByteSize.default(50 * 1024 ** 2),
  /** Where the local media store keeps files. Default `<data_dir>/media`. */
  media_store_path: z.string().min(1).optional(),
  /** Synapse's freeze: media uploaded while this is true is served only on the authenticated endpoints. */
  enable_authenticated_media: z.boolean().default(true),
  /** Total bytes one user may have uploaded (undefined: no quota). Palisade's own key. */
  media_upload_quota: ByteSize.optional(),
  url_preview_enabled: z.boolean().default(false),
  /** CIDR ranges previews may never fetch from, on top of the built-in private/loopback/link-local/... set. */
  url_preview_ip_range_blacklist: z.array(CidrRange).default([]),
  /** CIDR ranges allowed even when a blacklist (built-in or configured) covers them. */
  url_preview_ip_range_whitelist: z.array(CidrRange).default([]),
  /** URL patterns previews refuse: each entry matches URL parts (scheme, netloc, path, ...) by glob, or regex when it starts with ^. */
  url_preview_url_blacklist: z.array(z.record(z.string(), z.string())).default([]),
  /** Largest page or image a preview downloads (Synapse's name). */
  max_spider_size: ByteSize.default(10 * 1024 ** 2),
  /** How long one preview fetch (all redirects included) may take. Palisade's own key. */
  url_preview_fetch_timeout: Duration.default(10_000),
  /** How long an undelivered to-device message (E2EE key sharing) is kept before it is dropped. Palisade's own key. */
  to_device_message_lifetime: Duration.default(7 * 24 * 3_600_000),
  rc_login: z
    .strictObject({
      address: RateLimit.default({ per_second: 0.17, burst_count: 3 }),
      account: RateLimit.default({ per_second: 0.17, burst_count: 3 }),
      failed_attempts: RateLimit.default({ per_second: 0.17, burst_count: 3 }),
    })
    .default({
      address: { per_second: 0.17, burst_count: 3 },
      account: { per_second: 0.17, burst_count: 3 },
      failed_attempts: { per_second: 0.17, burst_count: 3 },
    }),
  rc_registration: RateLimit.default({ per_second: 0.17, burst_count: 3 }),
  rc_message: RateLimit.default({ per_second: 0.2, burst_count: 10 }),
  /** Media uploads and `create` per user (Synapse's name and defaults). */
  rc_media_create: RateLimit.default({ per_second: 10, burst_count: 50 }),
  /** Prefix of every Redis key Palisade uses (job queues), so several servers can share one Redis. Palisade's own key. */
  redis_key_prefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected letters, digits, _ . -').default('palisade'),
  /** Outbound push-gateway requests: CIDR ranges refused on top of the built-in private/loopback/... set (Synapse's name). */
  ip_range_blacklist: z.array(CidrRange).default([]),
  /** CIDR ranges push gateways may be reached at even when a blacklist covers them (e.g. the organisation's own gateway). */
  ip_range_whitelist: z.array(CidrRange).default([]),
  push: z
    .strictObject({
      /** Send message content and sender to push gateways (Synapse's name); false sends only IDs and counts. */
      include_content: z.boolean().default(true),
      /** Hosts whose gateway may be plain http: (e.g. in-cluster); every other pusher URL must be https. Palisade's own key. */
      allowed_http_gateway_hosts: z.array(z.string().min(1).max(255)).default([]),
      /** How long one notify request may take. Palisade's own key. */
      gateway_timeout: Duration.default(10_000),
    })
    .default({ include_content: true, allowed_http_gateway_hosts: [], gateway_timeout: 10_000 }),
  /** Whether API processes also run job handlers. Default: yes without Redis, no with Redis (run `npm run worker`). Palisade's own key. */
  jobs_in_api_process: z.boolean().optional(),
});

export type ConfigFile = z.input<typeof ConfigFile>;
type ParsedConfig = z.output<typeof ConfigFile>;

export interface Config extends ParsedConfig {
  public_baseurl: string;
  media_store_path: string;
  signing_key_path: string;
  /** Postgres connection string, or undefined for the embedded database. */
  database_url: string | undefined;
  redis_url: string | undefined;
}

export class ConfigError extends Error {
  declare readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads, validates and freezes the config. `env` overrides the file (DATABASE_URL, REDIS_URL, PORT). */
export function loadConfig(options: { file?: string; values?: ConfigFile; env?: NodeJS.ProcessEnv } = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const raw = options.file ? readYamlFile(options.file) : (options.values ?? {});
  const parsed = ConfigFile.safeParse(raw);
  const problems = parsed.success ? crossFieldProblems(parsed.data) : schemaAndCrossFieldProblems(raw, parsed.error.issues);
  if (env.PORT !== undefined && !/^\d+$/.test(env.PORT)) problems.push(`PORT: expected a port number, got "${env.PORT}"`);
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const file = parsed.data;

  const listeners = file.listeners.map((listener) => ({ ...listener }));
  const http = listeners.find((listener) => listener.type === 'http');
  if (env.PORT !== undefined && http) http.port = Number(env.PORT);

  const publicBase = file.public_baseurl ?? `http://${file.server_name}:${http?.port ?? 8008}/`;
  return Object.freeze({
    ...file,
    listeners,
    public_baseurl: publicBase.endsWith('/') ? publicBase : `${publicBase}/`,
    signing_key_path: file.signing_key_path ?? resolve(file.data_dir, `${file.server_name}.signing.key`),
    media_store_path: file.media_store_path ?? resolve(file.data_dir, 'media'),
    database_url: env.DATABASE_URL || databaseUrlFromArgs(file.database?.args),
    redis_url: env.REDIS_URL || redisUrlFromSection(file.redis),
  });
}

function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`]);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError([`config file ${path} is not valid YAML: ${(error as Error).message}`]);
  }
}

/**
 * Every problem at once: the schema's, then the cross-field rules checked on
 * the keys that were valid (the bad ones fall back to their defaults).
 */
function schemaAndCrossFieldProblems(raw: unknown, issues: z.core.$ZodIssue[]): string[] {
  const problems = issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return problems;
  const badKeys = new Set(issues.flatMap((issue) => (issue.path.length ? [String(issue.path[0])] : issue.code === 'unrecognized_keys' ? issue.keys : [])));
  const valid = ConfigFile.safeParse(Object.fromEntries(Object.entries(raw).filter(([key]) => !badKeys.has(key))));
  return valid.success ? [...problems, ...crossFieldProblems(valid.data)] : problems;
}

function crossFieldProblems(file: ParsedConfig): string[] {
  const problems: string[] = [];
  if (file.enable_registration && !file.enable_registration_without_verification && !file.registration_requires_token) {
    problems.push(
      'enable_registration: open registration needs a check; set enable_registration_without_verification: true or registration_requires_token: true',
    );
  }
  if (file.registration_shared_secret && file.registration_shared_secret_path) {
    problems.push('registration_shared_secret_path: set either registration_shared_secret or registration_shared_secret_path, not both');
  }
  problems.push(...urlBlacklistProblems(file.url_preview_url_blacklist));
  if (file.listeners.filter((listener) => listener.type === 'http').length === 0) {
    problems.push('listeners: at least one listener of type http is needed');
  }
  return problems;
}

function databaseUrlFromArgs(args: z.output<typeof DatabaseArgs> | undefined): string | undefined {
  if (!args) return undefined;
  const url = new URL('postgres://localhost');
  url.hostname = args.host ?? '127.0.0.1';
  if (args.port) url.port = String(args.port);
  if (args.user) url.username = encodeURIComponent(args.user);
  if (args.password) url.password = encodeURIComponent(args.password);
  url.pathname = `/${args.dbname ?? args.database ?? 'palisade'}`;
  return url.toString();
}

function redisUrlFromSection(redis: ParsedConfig['redis']): string | undefined {
  if (!redis?.enabled) return undefined;
  const url = new URL(`redis://${redis.host}:${redis.port}`);
  if (redis.password) url.password = encodeURIComponent(redis.password);
  if (redis.dbid !== undefined) url.pathname = `/${redis.dbid}`;
  return url.toString();
}

/** What is safe to log at start-up: no secrets, no passwords in URLs. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    server_name: config.server_name,
    public_baseurl: config.public_baseurl,
    listeners: config.listeners.map((listener) => `${listener.type}:${listener.bind_addresses.join(',')}:${listener.port}`),
    database: config.database_url ? redactUrl(config.database_url) : 'embedded',
    redis: config.redis_url ? redactUrl(config.redis_url) : 'none (in-process jobs)',
    enable_registration: config.enable_registration,
  };
}

function redactUrl(text: string): string {
  const url = new URL(text);
  if (url.password) url.password = '***';
  return url.toString();
}
