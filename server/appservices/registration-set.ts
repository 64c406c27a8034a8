import type { NamespaceRule, Registration } from './registration.ts';
import { RegistrationError } from './registration.ts';

/**
 * Checks registrations as a set: ids and tokens unique (a token shared by two
 * appservices would let one act as the other), and no two exclusive namespaces
 * of different appservices claiming the same IDs.
 */
export function validateRegistrationSet(registrations: Registration[]): void {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const registration of registrations) {
    for (const [kind, value] of [
      ['id', registration.id],
      ['token', registration.asToken],
      ['token', registration.hsToken],
      ['sender', registration.senderUserId],
    ] as const) {
      const key = `${kind}\0${value}`;
      const other = seen.get(key);
      if (other !== undefined) problems.push(`${registration.id}: ${kind === 'token' ? 'a token' : `${kind} ${value}`} is also used by ${other}`);
      else seen.set(key, registration.id);
    }
  }
  for (let i = 0; i < registrations.length; i++) {
    for (let j = i + 1; j < registrations.length; j++) {
      for (const kind of ['users', 'aliases', 'rooms'] as const) {
        const clash = exclusiveOverlap(registrations[i].namespaces[kind], registrations[j].namespaces[kind]);
        if (clash) problems.push(`${registrations[i].id} and ${registrations[j].id}: exclusive ${kind} namespaces overlap (${clash})`);
      }
      for (const [owner, other] of [[registrations[i], registrations[j]], [registrations[j], registrations[i]]] as const) {
        if (other.namespaces.users.some((rule) => rule.exclusive && rule.regex.test(owner.senderUserId))) {
          problems.push(`${other.id}: its exclusive users namespace claims ${owner.id}'s sender ${owner.senderUserId}`);
        }
      }
    }
  }
  if (problems.length) throw new RegistrationError(`appservice registrations conflict:\n  - ${problems.join('\n  - ')}`);
}

/**
 * Whether two regexes match a common string is undecidable in general. We
 * catch the cases that happen in practice: the same regex, or literal prefixes
 * (`@telegram_.*` and `@telegram_bot_.*`) where one is a prefix of the other.
 */
function exclusiveOverlap(left: NamespaceRule[], right: NamespaceRule[]): string | undefined {
  for (const a of left.filter((rule) => rule.exclusive)) {
    for (const b of right.filter((rule) => rule.exclusive)) {
      if (a.source === b.source) return `both claim ${a.source}`;
      const prefixA = literalPrefix(a.source);
      const prefixB = literalPrefix(b.source);
      // A fully literal namespace is one ID: the other regex either matches it or not.
      if (!prefixA.open && b.regex.test(prefixA.text)) return `${b.source} matches ${a.source}`;
      if (!prefixB.open && a.regex.test(prefixB.text)) return `${a.source} matches ${b.source}`;
      if (prefixA.open && prefixB.open && (prefixA.text.startsWith(prefixB.text) || prefixB.text.startsWith(prefixA.text))) {
        return `${a.source} and ${b.source} share the prefix ${prefixA.text.length < prefixB.text.length ? prefixA.text : prefixB.text}`;
      }
    }
  }
  return undefined;
}

/** The literal text a regex starts with, and whether anything variable follows it. */
function literalPrefix(source: string): { text: string; open: boolean } {
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '\\' && i + 1 < source.length && /[.\-_:@#!$+/]/.test(source[i + 1])) {
      text += source[++i];
    } else if (/[A-Za-z0-9_:@#!\-=/]/.test(char)) {
      text += char;
    } else {
      return { text, open: true };
    }
  }
  return { text, open: false };
}
