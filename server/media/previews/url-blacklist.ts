/**
 * Synapse's `url_preview_url_blacklist`: a list of entries, each a map from a
 * URL part (scheme, netloc, hostname, port, path, query, fragment, username,
 * password) to a glob, or to a regular expression when it starts with `^`.
 * A URL is refused when every part named in some entry matches.
 */
type UrlPart = 'scheme' | 'netloc' | 'hostname' | 'port' | 'path' | 'query' | 'fragment' | 'username' | 'password';
const PARTS = new Set<string>(['scheme', 'netloc', 'hostname', 'port', 'path', 'query', 'fragment', 'username', 'password']);

function partsOf(url: URL): Record<UrlPart, string> {
  return {
    scheme: url.protocol.replace(/:$/, ''),
    netloc: url.host,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname,
    query: url.search.replace(/^\?/, ''),
    fragment: url.hash.replace(/^#/, ''),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

export interface UrlBlacklist {
  /** The entry that refuses `url`, described for the error message, or undefined. */
  match(url: URL): string | undefined;
}

/** Compiles the entries once; unknown parts stop start-up via `validateUrlBlacklist`. */
export function createUrlBlacklist(entries: ReadonlyArray<Record<string, string>>): UrlBlacklist {
  const compiled = entries.map((entry) => ({
    entry,
    tests: Object.entries(entry).map(([part, pattern]) => ({ part: part as UrlPart, regex: pattern.startsWith('^') ? new RegExp(pattern) : globToRegExp(pattern) })),
  }));
  return {
    match(url) {
      const parts = partsOf(url);
      const hit = compiled.find(({ tests }) => tests.length > 0 && tests.every(({ part, regex }) => regex.test(parts[part] ?? '')));
      return hit ? JSON.stringify(hit.entry) : undefined;
    },
  };
}

/** Problems with the configured entries (unknown part names, bad regular expressions), for config errors. */
export function urlBlacklistProblems(entries: ReadonlyArray<Record<string, string>>): string[] {
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    for (const [part, pattern] of Object.entries(entry)) {
      if (!PARTS.has(part)) problems.push(`url_preview_url_blacklist.${index}.${part}: unknown URL part (use ${[...PARTS].join(', ')})`);
      if (pattern.startsWith('^')) {
        try {
          new RegExp(pattern);
        } catch {
          problems.push(`url_preview_url_blacklist.${index}.${part}: not a valid regular expression`);
        }
      }
    }
  });
  return problems;
}
