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
  let decoder: InstanceType<typeof TextDecoder> | undefined;
  let head: Buffer[] = [];
  let headBytes = 0;
  // Without a charset in the Content-Type, the page's own <meta charset> (in its first bytes) decides.
  const start = () => {
    const sniffed = charset ?? metaCharset(Buffer.concat(head));
    decoder = new TextDecoder(supportedCharset(sniffed), { fatal: false });
    for (const part of head) parser.write(decoder.decode(part, { stream: true }));
    head = [];
  };
  for await (const chunk of body) {
    if (decoder) {
      parser.write(decoder.decode(chunk as Buffer, { stream: true }));
      continue;
    }
    head.push(chunk as Buffer);
    headBytes += (chunk as Buffer).length;
    if (headBytes >= CHARSET_SNIFF_BYTES) start();
  }
  if (!decoder) start();
  parser.write(decoder!.decode());
  parser.end();
  if (og['og:title'] === undefined && title.trim()) og['og:title'] = title.trim().replace(/\s+/g, ' ').slice(0, MAX_TITLE_CHARS);
  if (og['og:description'] === undefined && description !== undefined) og['og:description'] = description;
  return og;
}

/** How far into a page its `<meta charset>` is looked for (the HTML standard's prescan length). */
const CHARSET_SNIFF_BYTES = 1024;

function metaCharset(head: Buffer): string | undefined {
  const text = head.subarray(0, CHARSET_SNIFF_BYTES).toString('latin1');
  return /<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)/i.exec(text)?.[1]?.toLowerCase();
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
