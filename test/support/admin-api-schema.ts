/**
 * Checks responses of the channel admin API against its OpenAPI document,
 * docs/admin-api.yaml, as spec-schema.ts does for the Matrix spec. Throws when
 * the document has no schema for the response, so a test cannot check nothing.
 */
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { $RefParser } from '@apidevtools/json-schema-ref-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';

const DOCUMENT = fileURLToPath(new URL('../../docs/admin-api.yaml', import.meta.url));
const PREFIX = '/_palisade/admin/v1';

type Json = Record<string, any>;
let document: Promise<Json> | undefined;
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();

export function adminApiDocument(): Promise<Json> {
  document ??= $RefParser.dereference(parseYaml(readFileSync(DOCUMENT, 'utf8')) as Json) as Promise<Json>;
  return document;
}

/** The document's path template that matches a concrete path (query ignored). */
function templateFor(paths: Json, concrete: string): string | undefined {
  const segments = concrete.split('?')[0].slice(PREFIX.length).split('/');
  return Object.keys(paths).find((template) => {
    const parts = template.split('/');
    return parts.length === segments.length && parts.every((part, index) => /^\{.+\}$/.test(part) || part === segments[index]);
  });
}

export async function assertMatchesAdminApi(response: { method: string; path: string; status: number; body: unknown }): Promise<void> {
  const doc = await adminApiDocument();
  if (!response.path.startsWith(PREFIX)) throw new AssertionError({ message: `${response.path} is not under ${PREFIX}` });
  const template = templateFor(doc.paths, response.path);
  const operation = template && doc.paths[template][response.method.toLowerCase()];
  const schema = operation?.responses?.[String(response.status)]?.content?.['application/json']?.schema;
  if (!schema) throw new AssertionError({ message: `docs/admin-api.yaml documents no ${response.status} for ${response.method} ${template ?? response.path}` });
  const key = `${response.method} ${template} ${response.status}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  if (!validate(response.body)) {
    throw new AssertionError({
      message: `${key} does not match docs/admin-api.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(response.body).slice(0, 2000)}`,
    });
  }
}
