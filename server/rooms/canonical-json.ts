/**
 * Matrix canonical JSON (spec: appendices, "Canonical JSON"): object keys sorted
 * by Unicode code point, no insignificant whitespace, UTF-8, shortest escapes,
 * and only integers in the range [-(2^53)+1, (2^53)-1]. Floats, NaN and
 * out-of-range integers are refused because no two servers would agree on them.
 */
export class CanonicalJsonError extends Error {}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(`not a canonical JSON integer: ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      return canonicalObject(value as Record<string, unknown>);
    default:
      throw new CanonicalJsonError(`value of type ${typeof value} cannot be canonical JSON`);
  }
}

function canonicalObject(object: Record<string, unknown>): string {
  const keys = Object.keys(object).filter((key) => object[key] !== undefined).sort(compareCodePoints);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
}

/** JavaScript sorts strings by UTF-16 code unit; the spec sorts by code point. */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const difference = left[i].codePointAt(0)! - right[i].codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
