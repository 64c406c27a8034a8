/**
 * Just enough of the spec's identifier grammar (appendices, "Identifier
 * Grammar") for the auth rules. User IDs are checked with the historical
 * grammar, since old rooms contain such senders and must still authorise.
 */

/** User IDs, room IDs and aliases are at most 255 bytes including sigil and domain. */
export const MAX_IDENTIFIER_BYTES = 255;

/** The server name part of a user, room or v1-v3 event ID: everything after the first colon. */
export function domainOf(id: string): string {
  const colon = id.indexOf(':');
  return colon === -1 ? '' : id.slice(colon + 1);
}

const DNS_NAME = /^[0-9A-Za-z.-]{1,255}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;

/** `host[:port]` where host is a DNS name, IPv4 address or bracketed IPv6 literal. */
export function isValidServerName(name: string): boolean {
  const match = /^(.*?)(?::(\d{1,5}))?$/.exec(name);
  if (!match) return false;
  const [, host, port] = match;
  if (port !== undefined && Number(port) > 65535) return false;
  return IPV6_LITERAL.test(host) || IPV4.test(host) || DNS_NAME.test(host);
}

/** `@localpart:server`; the localpart may be any characters but `:` and NUL (historical user IDs). */
export function isValidUserId(userId: string): boolean {
  if (!userId.startsWith('@') || Buffer.byteLength(userId) > MAX_IDENTIFIER_BYTES) return false;
  const colon = userId.indexOf(':');
  if (colon === -1 || userId.slice(1, colon).includes('\0')) return false;
  return isValidServerName(userId.slice(colon + 1));
}
