/**
 * Headers every media response carries. The bytes are whatever a user
 * uploaded, so a browser must never run them in the server's origin:
 * a sandboxing CSP, nosniff, and `inline` only for the spec's allow-list
 * ("Serving inline content"); everything else is an attachment.
 */
const INLINE_SAFE_TYPES = new Set([
  'text/css',
  'text/plain',
  'text/csv',
  'application/json',
  'application/ld+json',
  'image/jpeg',
  'image/gif',
  'image/png',
  'image/apng',
  'image/webp',
  'image/avif',
  'video/mp4',
  'video/webm',
  'video/ogg',
  'video/quicktime',
  'audio/mp4',
  'audio/webm',
  'audio/aac',
  'audio/mpeg',
  'audio/ogg',
  'audio/wave',
  'audio/wav',
  'audio/x-wav',
  'audio/x-pn-wav',
  'audio/flac',
  'audio/x-flac',
]);

/** The spec's recommended policy. */
export const MEDIA_CSP = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';";
const MAX_FILENAME_CHARS = 255;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** A media type: `type/subtype` with RFC 7230 token characters, optional parameters. */
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\\\r\n]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

/** The upload's Content-Type as stored: a well-formed media type, or octet-stream. */
export function normaliseContentType(header: string | undefined): string {
  const value = header?.trim();
  return value && value.length <= 255 && CONTENT_TYPE.test(value) ? value : DEFAULT_CONTENT_TYPE;
}

function essence(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

export function isInlineSafe(contentType: string): boolean {
  return INLINE_SAFE_TYPES.has(essence(contentType));
}

/**
 * A filename kept as the user gave it where harmless: no control characters,
 * no path separators, bounded length. Undefined when nothing is left.
 */
export function sanitiseFilename(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const cleaned = [...name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim()].slice(0, MAX_FILENAME_CHARS).join('');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? undefined : cleaned;
}

/** RFC 6266: an ASCII fallback in `filename`, the exact name in `filename*` when it is not plain ASCII. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string | undefined): string {
  if (filename === undefined) return kind;
  if (/^[\x20-\x7e]*$/.test(filename)) return `${kind}; filename="${filename.replace(/["\\]/g, '\\$&')}"`;
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Headers for serving stored bytes of `contentType`, inline only when the type is safe. */
export function mediaHeaders(contentType: string, filename: string | undefined, size: number, forceInline = false): Record<string, string> {
  // Served as stored, but never let a browser guess a more dangerous type.
  const type = contentType || DEFAULT_CONTENT_TYPE;
  return {
    'content-type': type,
    'content-length': String(size),
    'content-disposition': contentDisposition(forceInline || isInlineSafe(type) ? 'inline' : 'attachment', filename),
    'content-security-policy': MEDIA_CSP,
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'cross-origin',
    'cache-control': 'private, max-age=31536000, immutable',
  };
}
