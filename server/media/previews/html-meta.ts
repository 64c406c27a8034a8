import type { Readable } from 'node:stream';
import { Parser } from 'htmlparser2';

/** OpenGraph values we keep per page, and how long each may be. */
const MAX_OG_KEYS = 50;
const MAX_VALUE_CHARS = 2000;
const MAX_TITLE_CHARS = 500;

/**
 * Reads OpenGraph (`<meta property="og:…">`) and plain HTML metadata from a
 * page with a real HTML parser, incrementally as the bytes arrive. Falls back
 * to `<title>` and `<meta name="description">` when the page has no og tags.
 * Values are plain strings; `og:image` is left as the page gave it (the caller
 * resolves and fetches it).
 */
export async function parseHtmlMeta(body: Readable, charset: string | undefined): Promise<Record<string, string>> {
  const og: Record<string, string> = {};
  let title = '';
  let inTitle = false;
  let description: string | undefined;
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'title') inTitle = true;
        if (name !== 'meta') return;
        const key = (attributes.property ?? attributes.name ?? '').trim();
        const content = attributes.content;
        if (content === undefined || key === '') return;
        if (key.toLowerCase() === 'description') description ??= content.slice(0, MAX_VALUE_CHARS);
        if (/^og:/i.test(key) && !(key in og) && Object.keys(og).length < MAX_OG_KEYS) og[key] = content.slice(0, MAX_VALUE_CHARS);
      },
      ontext(text) {
        if (inTitle && title.length < MAX_TITLE_CHARS) title += text;
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  const decoder = new TextDecoder(supportedCharset(charset), { fatal: false });
  for await (const chunk of body) parser.write(decoder.decode(chunk as Buffer, { stream: true }));
  parser.write(decoder.decode());
  parser.end();
  if (og['og:title'] === undefined && title.trim()) og['og:title'] = title.trim().replace(/\s+/g, ' ').slice(0, MAX_TITLE_CHARS);
  if (og['og:description'] === undefined && description !== undefined) og['og:description'] = description;
  return og;
}

function supportedCharset(charset: string | undefined): string {
  if (!charset) return 'utf-8';
  try {
    new TextDecoder(charset);
    return charset;
  } catch {
    return 'utf-8';
  }
}

/** `text/html; charset=ISO-8859-1` → `iso-8859-1`. */
export function charsetOf(contentType: string): string | undefined {
  return /;\s*charset="?([^";\s]+)"?/i.exec(contentType)?.[1]?.toLowerCase();
}
