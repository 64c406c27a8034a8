/**
 * Checks our HTTP responses and events against the Matrix spec's own data
 * (`vendor/matrix-spec`, an unchanged copy of the spec repository's data): OpenAPI 3.1 documents for
 * the APIs, JSON Schema 2020-12 for events.
 *
 * Paths are indexed eagerly (a plain YAML parse per API); a document is
 * dereferenced only when an assertion first needs it, then cached, and each
 * schema is compiled once. Both assertions throw `AssertionError`, including
 * when there is nothing to check against, so a test cannot silently check
 * nothing.
 */
import { AssertionError } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { $RefParser } from '@apidevtools/json-schema-ref-parser';
import type { FileInfo } from '@apidevtools/json-schema-ref-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export type SpecApi = 'client-server' | 'application-service' | 'push-gateway' | 'server-server' | 'identity';

export interface SpecResponse {
  method: string;
  /** The concrete request path; a query string is ignored. */
  path: string;
  status: number;
  body: unknown;
  /** Defaults to `'client-server'`. */
  api?: SpecApi;
}

/** Resolved from this file, so it is the repo root's sibling wherever the repo is cloned. */
const SPEC_DATA = fileURLToPath(new URL('../../vendor/matrix-spec/data/', import.meta.url));
const EVENT_SCHEMAS = path.join(SPEC_DATA, 'event-schemas', 'schema');
const MAX_BODY_CHARS = 2000;
const MAX_ERRORS = 25;
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** Checks for the spec's `mx-*` formats (`data/string-formats.yaml`, appendices). */
const MATRIX_FORMATS: Record<string, RegExp> = {
  'mx-user-id': /^@[^:]+:.+/,
  'mx-room-id': /^!/,
  'mx-event-id': /^\$/,
  'mx-room-alias': /^#[^:]+:.+/,
  // hostname [":" port]; hostname = IPv4 / "[" IPv6 "]" / 1*255 dns-char
  'mx-server-name': /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?$/,
  'mx-mxc-uri': /^mxc:\/\/[^/]+\/.+/,
  'mx-unpadded-base64': /^[A-Za-z0-9+/]*$/,
  'mx-urlsafe-unpadded-base64': /^[A-Za-z0-9_-]*$/,
};

type Json = Record<string, unknown>;

interface Operation {
  api: SpecApi;
  file: string;
  /** The key under `paths`, untrimmed: upstream adds a trailing space to tell duplicates apart. */
  pathKey: string;
  method: string;
  template: string;
  segments: string[];
  operationId: string;
}

/** ref-parser's bundled js-yaml refuses many spec files (flow maps closed at the key's indent). */
const YAML_PARSER = {
  order: 200,
  allowEmpty: true,
  canParse: ['.yaml', '.yml', '.json'],
  parse: (file: FileInfo): unknown => parseYaml(String(file.data)),
};

const ajv = createAjv();
const operationIndex = new Map<SpecApi, Operation[]>();
const documents = new Map<string, Promise<Json>>();
const validators = new Map<string, ValidateFunction | null>();

function createAjv(): Ajv2020 {
  const instance = new Ajv2020({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: under Node's ESM interop the default import may be the module object.
  const plugin = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
  const addFormats = plugin.default ?? plugin;
  addFormats(instance);
  const declared = parseYaml(readFileSync(path.join(SPEC_DATA, 'string-formats.yaml'), 'utf8')) as Json;
  for (const name of Object.keys(declared).filter((key) => key.startsWith('mx-'))) {
    const pattern = MATRIX_FORMATS[name];
    if (!pattern) throw new Error(`spec-schema: string-formats.yaml declares ${name}, which has no checker here`);
    instance.addFormat(name, pattern);
  }
  return instance;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) current = typeof current === 'object' && current !== null ? (current as Json)[key] : undefined;
  return current;
}

function preview(body: unknown): string {
  const text = JSON.stringify(body) ?? String(body);
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}… (${text.length} chars)` : text;
}

function fail(message: string): never {
  throw new AssertionError({ message, operator: 'matchesSpec' });
}

function operationsOf(api: SpecApi): Operation[] {
  const cached = operationIndex.get(api);
  if (cached) return cached;
  const dir = path.join(SPEC_DATA, 'api', api);
  const operations: Operation[] = [];
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.yaml')).sort()) {
    const file = path.join(dir, name);
    const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
    const basePath = field(doc, 'servers', '0', 'variables', 'basePath', 'default');
    const paths = field(doc, 'paths');
    for (const [pathKey, item] of Object.entries(isRecord(paths) ? paths : {})) {
      const template = `${typeof basePath === 'string' ? basePath : ''}${pathKey.trim()}`;
      for (const [method, op] of Object.entries(isRecord(item) ? item : {})) {
        if (!HTTP_METHODS.has(method)) continue;
        const operationId = String(field(op, 'operationId') ?? '(no operationId)');
        operations.push({ api, file, pathKey, method, template, segments: template.split('/'), operationId });
      }
    }
  }
  operationIndex.set(api, operations);
  return operations;
}

/** '1' for a literal segment, '0' for a `{param}`; equal-length strings compare by specificity. */
function specificity(template: string[], actual: string[]): string | undefined {
  if (template.length !== actual.length) return undefined;
  let score = '';
  for (const [i, segment] of template.entries()) {
    if (/^\{[^/{}]+\}$/.test(segment)) score += '0';
    else if (segment === actual[i] || segment === safeDecode(actual[i])) score += '1';
    else return undefined;
  }
  return score;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The most specific matches; several only when the spec defines one path twice. */
function findOperations(api: SpecApi, method: string, requestPath: string): Operation[] {
  const pathOnly = requestPath.split(/[?#]/, 1)[0];
  // A trailing slash is optional in places (an empty state key); try the other form second.
  const toggled = pathOnly.endsWith('/') ? pathOnly.slice(0, -1) : `${pathOnly}/`;
  const verb = method.toLowerCase();
  for (const candidate of [pathOnly, toggled]) {
    const actual = candidate.split('/');
    const scored = operationsOf(api)
      .filter((op) => op.method === verb)
      .map((op) => ({ op, score: specificity(op.segments, actual) }))
      .filter((entry): entry is { op: Operation; score: string } => entry.score !== undefined);
    const best = scored.reduce((max, entry) => (entry.score > max ? entry.score : max), '');
    if (scored.length > 0) return scored.filter((entry) => entry.score === best).map((entry) => entry.op);
  }
  return [];
}

function dereferenced(file: string): Promise<Json> {
  let doc = documents.get(file);
  if (!doc) {
    // Keys beside a `$ref` replace the target's (no deep merge), as the spec website does.
    const options = { parse: { yaml: YAML_PARSER }, dereference: { circular: true, mergeKeys: false } };
    doc = new $RefParser().dereference(file, options).then((schema) => schema as Json);
    documents.set(file, doc);
  }
  return doc;
}

/**
 * A tree copy of a dereferenced schema for Ajv: a recursive schema comes out of
 * ref-parser as an object cycle, which becomes a `$ref` to the ancestor's pointer.
 */
function withoutCycles(root: unknown): unknown {
  const open = new Map<object, string>();
  const copy = (node: unknown, pointer: string): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    const ancestor = open.get(node);
    if (ancestor !== undefined) return { $ref: `#${ancestor}` };
    open.set(node, pointer);
    const step = (key: string | number): string =>
      `${pointer}/${encodeURIComponent(String(key).replaceAll('~', '~0').replaceAll('/', '~1'))}`;
    const result = Array.isArray(node)
      ? node.map((item, i) => copy(item, step(i)))
      : Object.fromEntries(Object.entries(node).map(([key, value]) => [key, copy(value, step(key))]));
    open.delete(node);
    return result;
  };
  return copy(root, '');
}

function compileOnce(key: string, schema: unknown): ValidateFunction | null {
  if (!validators.has(key)) validators.set(key, schema === undefined ? null : ajv.compile(withoutCycles(schema) as Json));
  return validators.get(key) ?? null;
}

function describe(op: Operation): string {
  const file = path.relative(path.join(SPEC_DATA, 'api'), op.file);
  return `${op.method.toUpperCase()} ${op.template} (${op.operationId}, ${file})`;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string {
  const list = errors ?? [];
  const lines = list.slice(0, MAX_ERRORS).map((error) =>
    `  - ${error.instancePath || '(root)'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`);
  if (list.length > MAX_ERRORS) lines.push(`  … and ${list.length - MAX_ERRORS} more`);
  return lines.join('\n');
}

type ResponseCheck = { kind: 'undocumented'; statuses: string[] } | { kind: 'no-body' } | { kind: 'schema'; validate: ValidateFunction };

/** The response for a status: exact, then `4XX`-style ranges, then `default`. */
async function responseCheck(op: Operation, status: number): Promise<ResponseCheck> {
  const doc = await dereferenced(op.file);
  const responses = field(doc, 'paths', op.pathKey, op.method, 'responses');
  const statuses = Object.keys(isRecord(responses) ? responses : {});
  const key = [String(status), `${String(status).charAt(0)}XX`, 'default'].find((candidate) => statuses.includes(candidate));
  if (key === undefined) return { kind: 'undocumented', statuses };
  const schema = field(responses, key, 'content', 'application/json', 'schema');
  const validate = compileOnce(`${op.file}\0${op.pathKey}\0${op.method}\0${key}`, schema);
  return validate ? { kind: 'schema', validate } : { kind: 'no-body' };
}

/**
 * Validates a response body against the spec operation that serves `path`.
 * Returns quietly when the spec gives that response no JSON body schema.
 */
export async function assertMatchesSpec({ method, path: requestPath, status, body, api = 'client-server' }: SpecResponse): Promise<void> {
  const operations = findOperations(api, method, requestPath);
  if (operations.length === 0) fail(`${method.toUpperCase()} ${requestPath}: no operation in the ${api} spec matches this method and path`);
  const failures: string[] = [];
  const undocumented: string[] = [];
  for (const op of operations) {
    const check = await responseCheck(op, status);
    if (check.kind === 'no-body') return;
    if (check.kind === 'undocumented') {
      undocumented.push(`${describe(op)} documents only ${check.statuses.join(', ')}`);
      continue;
    }
    if (check.validate(body)) return;
    failures.push(`operation ${describe(op)}:\n${formatErrors(check.validate.errors)}`);
  }
  const request = `${method.toUpperCase()} ${requestPath}`;
  if (failures.length === 0) fail(`${request}: the spec has no ${status} response: ${undocumented.join('; ')}`);
  fail(`${request}: ${status} response body does not match the spec\n${failures.join('\n')}\nbody: ${preview(body)}`);
}

async function eventValidator(file: string): Promise<ValidateFunction> {
  const schema = await dereferenced(file);
  return compileOnce(file, schema) as ValidateFunction;
}

/**
 * Validates an event against `event-schemas/schema/<type>.yaml`, and also
 * against `<type>$<msgtype>.yaml` when the spec has one for its `content.msgtype`.
 */
export async function assertEventMatchesSpec(event: unknown): Promise<void> {
  const type = field(event, 'type');
  if (typeof type !== 'string' || !/^[A-Za-z0-9._-]+$/.test(type)) {
    fail(`event has no usable "type" to pick a spec schema by: ${preview(event)}`);
  }
  const file = path.join(EVENT_SCHEMAS, `${type}.yaml`);
  if (!existsSync(file)) fail(`the spec has no event schema for type ${type} (looked for ${path.relative(SPEC_DATA, file)})`);
  const files = [file];
  const msgtype = field(event, 'content', 'msgtype');
  const variant = path.join(EVENT_SCHEMAS, `${type}$${String(msgtype)}.yaml`);
  if (typeof msgtype === 'string' && /^[A-Za-z0-9._-]+$/.test(msgtype) && existsSync(variant)) files.push(variant);
  for (const schemaFile of files) {
    const validate = await eventValidator(schemaFile);
    if (!validate(event)) {
      const name = path.relative(SPEC_DATA, schemaFile);
      fail(`${type} event does not match ${name}\n${formatErrors(validate.errors)}\nevent: ${preview(event)}`);
    }
  }
}

/** Validates a request body the server sent (e.g. to a push gateway) against the spec operation's requestBody schema. */
export async function assertRequestMatchesSpec({ method, path: requestPath, body, api = 'client-server' }: Omit<SpecResponse, 'status'>): Promise<void> {
  const operations = findOperations(api, method, requestPath);
  if (operations.length === 0) fail(`${method.toUpperCase()} ${requestPath}: no operation in the ${api} spec matches this method and path`);
  const failures: string[] = [];
  for (const op of operations) {
    const doc = await dereferenced(op.file);
    const schema = field(doc, 'paths', op.pathKey, op.method, 'requestBody', 'content', 'application/json', 'schema');
    if (schema === undefined) fail(`${describe(op)} has no JSON request body schema`);
    const validate = compileOnce(`${op.file}\0${op.pathKey}\0${op.method}\0request`, schema)!;
    if (validate(body)) return;
    failures.push(`operation ${describe(op)}:\n${formatErrors(validate.errors)}`);
  }
  fail(`${method.toUpperCase()} ${requestPath}: request body does not match the spec\n${failures.join('\n')}\nbody: ${preview(body)}`);
}
