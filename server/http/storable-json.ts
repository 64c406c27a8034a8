import { badJson } from '../errors.ts';

/** Deeper JSON than this is not a key, a backup or a to-device message. */
export const MAX_JSON_DEPTH = 64;

/**
 * Postgres cannot store U+0000 in text or jsonb, nor lone UTF-16 surrogates
 * in jsonb; without this check such input would fail in the database as a
 * 500. Walks keys and string values and refuses with M_BAD_JSON naming `what`.
 */
export function assertStorable(value: unknown, what: string, depth = 0): void {
  if (depth > MAX_JSON_DEPTH) throw badJson(`${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (typeof value === 'string') {
    if (!isStorableText(value)) throw badJson(`${what} contains a NUL character or an unpaired surrogate`);
  } else if (Array.isArray(value)) {
    for (const item of value) assertStorable(item, what, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key)) throw badJson(`${what} has a key with a NUL character or an unpaired surrogate`);
      assertStorable(item, what, depth + 1);
    }
  }
}

function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}
