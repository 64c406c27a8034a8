import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { ErrCode, MatrixError, tooLarge } from '../errors.ts';
import { assertStorable } from './storable-json.ts';

/** Default cap on a JSON request body; routes that carry more (to-device fan-out) raise it. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads and parses a JSON body, enforcing the size limit while reading. An empty body is `{}`. */
export async function readJsonBody(ctx: Context, limitBytes = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes) throw tooLarge(`Request body is larger than the limit of ${limitBytes} bytes`);
  let raw: Buffer;
  try {
    raw = await getRawBody(ctx.req, { limit: limitBytes });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') {
      throw tooLarge(`Request body is larger than the limit of ${limitBytes} bytes`);
    }
    throw new MatrixError(ErrCode.NOT_JSON, 'Could not read the request body');
  }
  let text: string;
  try {
    // JSON must be UTF-8; invalid bytes are refused rather than turned into U+FFFD.
    text = STRICT_UTF8.decode(raw);
  } catch {
    throw new MatrixError(ErrCode.NOT_JSON, 'Request body is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MatrixError(ErrCode.NOT_JSON, 'Request body is not valid JSON');
  }
  assertStorable(parsed, 'The request body');
  return parsed;
}
