import { AssertionError } from 'node:assert';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';

const SPEC_DATA = fileURLToPath(new URL('../../vendor/matrix-spec/data/', import.meta.url));

type Json = Record<string, unknown>;

function readYaml(file: string): unknown {
  return parseYaml(readFileSync(file, 'utf8'));
}

function dig(value: unknown, keys: string[]): unknown {
  return keys.reduce<unknown>((node, key) => (node as Json | undefined)?.[key], value);
}

/** The spec's own example for a client-server response (plain JSON, no `$ref`s in these). */
function responseExample(file: string, pathKey: string, method: string, status: string): Json {
  const doc = readYaml(path.join(SPEC_DATA, 'api', 'client-server', file));
  const example = dig(doc, ['paths', pathKey, method, 'responses', status, 'content', 'application/json', 'examples', 'response', 'value']);
  assert.ok(example && typeof example === 'object', `no example for ${method} ${pathKey} ${status} in ${file}`);
  return example as Json;
}

/** An event example built as the spec website does: keys beside `$ref` replace the target's. */
function eventExample(file: string): Json {
  const { $ref, ...own } = readYaml(file) as Json;
  return typeof $ref === 'string' ? { ...eventExample(path.resolve(path.dirname(file), $ref)), ...own } : own;
}

const loginOk = responseExample('login.yaml', '/login', 'post', '200');

describe('assertMatchesSpec', () => {
  it('passes the spec example for POST /login 200', async () => {
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/login', status: 200, body: loginOk });
  });

  it('fails a login body whose user_id is a number, naming the field and the operation', async () => {
    const body = { ...loginOk, user_id: 42 };
    await assert.rejects(assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/login', status: 200, body }), (error: unknown) => {
      assert.ok(error instanceof AssertionError);
      assert.match(error.message, /\/user_id must be string/);
      assert.match(error.message, /POST \/_matrix\/client\/v3\/login \(login, client-server\/login\.yaml\)/);
      assert.match(error.message, /200 response body/);
      assert.match(error.message, /"user_id":42/);
      return true;
    });
  });

  it('checks mx-* formats, not only types', async () => {
    const body = { ...loginOk, user_id: '@no-server-name' };
    await assert.rejects(assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/login', status: 200, body }),
      /\/user_id must match format "mx-user-id"/);
  });

  it('passes GET /versions (base path without a version), ignoring the query string', async () => {
    const body = responseExample('versions.yaml', '/versions', 'get', '200');
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/versions?since=now', status: 200, body });
  });

  it('matches a templated path and still validates against it', async () => {
    const body = responseExample('device_management.yaml', '/devices/{deviceId}', 'get', '200');
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/devices/ABC', status: 200, body });
    await assert.rejects(assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/devices/ABC', status: 200, body: { display_name: 'phone' } }),
      /getDevice[\s\S]*must have required property 'device_id'/);
  });

  it('prefers a literal segment over a template', async () => {
    // /query/directory and /query/{queryType} both match; the template has no body schema.
    await assert.rejects(assertMatchesSpec({ api: 'server-server', method: 'GET', path: '/_matrix/federation/v1/query/directory', status: 200, body: {} }),
      /queryRoomDirectory/);
  });

  it('validates an error body for a 403 from POST /login', async () => {
    const body = { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' };
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/login', status: 403, body });
    await assert.rejects(assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/login', status: 403, body: { error: 'no code' } }),
      /must have required property 'errcode'/);
  });

  it('returns quietly when the spec gives the response no body', async () => {
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/devices/ABC', status: 404, body: { errcode: 'M_NOT_FOUND' } });
  });

  it('throws for a path the spec does not have', async () => {
    await assert.rejects(assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/no_such_endpoint', status: 200, body: {} }),
      (error: unknown) => error instanceof AssertionError && /no operation in the client-server spec/.test(error.message));
  });

  it('throws for a status the operation does not document', async () => {
    await assert.rejects(assertMatchesSpec({ method: 'GET', path: '/_matrix/client/versions', status: 418, body: {} }),
      /the spec has no 418 response: .*getVersions.* documents only 200/);
  });
});

describe('assertEventMatchesSpec', () => {
  const textMessage = eventExample(path.join(SPEC_DATA, 'event-schemas', 'examples', 'm.room.message$m.text.yaml'));

  it('passes the spec example for an m.room.message', async () => {
    await assertEventMatchesSpec(textMessage);
  });

  it('fails an m.room.message without content', async () => {
    const { content: _content, ...withoutContent } = textMessage;
    await assert.rejects(assertEventMatchesSpec(withoutContent), (error: unknown) => {
      assert.ok(error instanceof AssertionError);
      assert.match(error.message, /m\.room\.message event does not match event-schemas\/schema\/m\.room\.message\.yaml/);
      assert.match(error.message, /must have required property 'content'/);
      return true;
    });
  });

  it('also checks the msgtype schema when the spec has one', async () => {
    const event = { ...textMessage, content: { msgtype: 'm.text', body: 'hi', format: 5 } };
    await assert.rejects(assertEventMatchesSpec(event), /m\.room\.message\$m\.text\.yaml[\s\S]*\/content\/format must be string/);
  });

  it('throws for an event type with no schema in the spec', async () => {
    await assert.rejects(assertEventMatchesSpec({ type: 'org.example.custom', content: {} }), /no event schema for type org\.example\.custom/);
  });
});
