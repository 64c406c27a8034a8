import assert from 'node:assert/strict';
import type { HttpResult } from './http.ts';
import { assertMatchesSpec } from './spec-schema.ts';

export interface ExpectedRefusal {
  status: number;
  errcode: string;
  /** The request, so the error body is checked against the spec where the spec defines one. */
  method: string;
  path: string;
  /** False for statuses the spec does not document for this endpoint (e.g. 405, 413). */
  checkSpec?: boolean;
  /** A fragment the human-readable message must contain (e.g. the field it names). */
  messageIncludes?: string;
}

/** Asserts a Matrix error: status, errcode, a human-readable `error`, and the spec's error schema. */
export async function assertRefusal(result: HttpResult, expected: ExpectedRefusal): Promise<void> {
  const where = `${expected.method} ${expected.path}: ${JSON.stringify(result.body)}`;
  assert.equal(result.status, expected.status, where);
  assert.equal(result.body?.errcode, expected.errcode, where);
  assert.equal(typeof result.body?.error, 'string', where);
  assert.ok(result.body.error.length > 3, `error message should be human-readable: ${where}`);
  if (expected.messageIncludes) assert.ok(result.body.error.includes(expected.messageIncludes), where);
  if (expected.checkSpec ?? true) {
    await assertMatchesSpec({ method: expected.method, path: expected.path, status: result.status, body: result.body });
  }
}
