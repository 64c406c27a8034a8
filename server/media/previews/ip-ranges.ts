import ipaddr from 'ipaddr.js';

/**
 * Which addresses a URL preview may connect to. Decisions are made on the
 * address the socket will actually use (after DNS), never on a hostname.
 *
 * Built in, always refused unless whitelisted: everything that is not a
 * public unicast address on the internet — private, loopback, link-local
 * (cloud metadata at 169.254.169.254 and fd00:ec2::254 fall in these),
 * CGNAT, multicast, unspecified, documentation and reserved ranges — and the
 * IPv6 forms that tunnel to an IPv4 address we cannot vouch for (NAT64,
 * 6to4, Teredo, IPv4-compatible). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is
 * judged as the IPv4 address it is.
 */
const BUILT_IN_DENIED = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/96',
  '::1/128',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32',
  '2001:db8::/32',
  '2002::/16',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
] as const;

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

export function isValidRange(text: string): boolean {
  return ipaddr.isValidCIDR(text) || ipaddr.isValid(text);
}

function parseRange(text: string): Range {
  if (ipaddr.isValidCIDR(text)) return ipaddr.parseCIDR(text);
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

/** The address as the socket sees it: IPv4-mapped IPv6 becomes plain IPv4. */
function normalise(address: Address): Address {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address();
  return address;
}

function inAny(address: Address, ranges: Range[]): Range | undefined {
  return ranges.find(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
}

export type AddressDecision = { allowed: true } | { allowed: false; reason: string };

export interface AddressPolicy {
  check(address: string): AddressDecision;
}

/** Builds the policy from Synapse's `url_preview_ip_range_blacklist` / `_whitelist` (whitelist wins). */
export function createAddressPolicy(options: { blacklist: readonly string[]; whitelist: readonly string[] }): AddressPolicy {
  const denied = [...BUILT_IN_DENIED, ...options.blacklist].map(parseRange);
  const allowed = options.whitelist.map(parseRange);
  return {
    check(text) {
      if (!ipaddr.isValid(text)) return { allowed: false, reason: `not an IP address: ${text}` };
      const address = normalise(ipaddr.parse(text));
      if (inAny(address, allowed)) return { allowed: true };
      const hit = inAny(address, denied);
      if (hit) return { allowed: false, reason: `address ${address.toString()} is in the refused range ${hit[0].toString()}/${hit[1]}` };
      return { allowed: true };
    },
  };
}
