import type { AppContext } from '../app-context.ts';
import { callAppservice, QUERY_TIMEOUT_MS } from './appservice-client.ts';
import { matchesAlias, ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

/**
 * Spec (Application Service API, "Querying"): before answering that a user or
 * room alias in an appservice's namespace does not exist, the homeserver asks
 * the appservice, which may create it (a ghost user, a portal room) and answer
 * 200. Exclusive owners are asked first. Any other answer, a timeout or an
 * unreachable appservice count as "no".
 */
export async function askAppservicesForUser(app: AppContext, userId: string): Promise<boolean> {
  return askInterested(app, (registration) => ownsUser(registration, userId) && userId !== registration.senderUserId, `/_matrix/app/v1/users/${encodeURIComponent(userId)}`, (registration) =>
    registration.namespaces.users.some((rule) => rule.exclusive && rule.regex.test(userId)),
  );
}

export async function askAppservicesForAlias(app: AppContext, alias: string): Promise<boolean> {
  return askInterested(app, (registration) => matchesAlias(registration, alias), `/_matrix/app/v1/rooms/${encodeURIComponent(alias)}`, (registration) =>
    registration.namespaces.aliases.some((rule) => rule.exclusive && rule.regex.test(alias)),
  );
}

async function askInterested(
  app: AppContext,
  interested: (registration: Registration) => boolean,
  path: string,
  exclusive: (registration: Registration) => boolean,
): Promise<boolean> {
  const candidates = app.appservices.all().filter((registration) => registration.url && interested(registration));
  candidates.sort((a, b) => Number(exclusive(b)) - Number(exclusive(a)));
  for (const registration of candidates) {
    const reply = await callAppservice(registration, { method: 'GET', path, timeoutMs: QUERY_TIMEOUT_MS });
    if (reply.kind === 'answered' && reply.status === 200) return true;
    if (reply.kind !== 'answered' || reply.status >= 500) app.logger.warn({ appservice: registration.id, outcome: reply.kind === 'answered' ? reply.status : reply.kind }, 'appservice query failed');
    // An exclusive owner's "no" is final: nobody else may create it.
    if (exclusive(registration)) return false;
  }
  return false;
}
