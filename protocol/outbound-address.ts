import { BlockList, isIP } from 'node:net';

/**
 * Where a fetch of something a registrant or a server named may connect: the registry's
 * domain-control document, a client's SEP-3140 discovery documents. Public unicast addresses
 * only, unless the caller allows private or loopback ones (a development host), so that a name
 * cannot make the fetcher reach its own host, its network or a cloud metadata service
 * (server-side request forgery). Ranges: RFC 6890 special-purpose registries (IPv4 and IPv6),
 * plus multicast and the reserved 240/4. Node-only (node:net): exported from `@etdi/protocol/node`.
 */
const blockList = (v4: readonly (readonly [string, number])[], v6: readonly (readonly [string, number])[]): BlockList => {
  const list = new BlockList();
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
};

const LOOPBACK = blockList([['127.0.0.0', 8]], [['::1', 128]]);

const PRIVATE = blockList(
  [
    ['10.0.0.0', 8], // private
    ['100.64.0.0', 10], // carrier-grade NAT
    ['169.254.0.0', 16], // link-local (cloud metadata services live here)
    ['172.16.0.0', 12], // private
    ['192.168.0.0', 16], // private
  ],
  [
    ['fc00::', 7], // unique local
    ['fe80::', 10], // link-local
    ['fec0::', 10], // site-local (deprecated)
  ],
);

const RESERVED = blockList(
  [
    ['0.0.0.0', 8], // "this network", the unspecified address
    ['192.0.0.0', 24], // IETF protocol assignments
    ['192.0.2.0', 24], // documentation
    ['192.88.99.0', 24], // 6to4 relay anycast
    ['198.18.0.0', 15], // benchmarking
    ['198.51.100.0', 24], // documentation
    ['203.0.113.0', 24], // documentation
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, and the limited broadcast address
  ],
  [
    ['::', 128], // unspecified
    ['64:ff9b::', 96], // NAT64: would reach any IPv4 address, private ones included
    ['64:ff9b:1::', 48], // local-use NAT64
    ['100::', 64], // discard
    ['2001::', 23], // IETF protocol assignments (Teredo included)
    ['2001:db8::', 32], // documentation
    ['2002::', 16], // 6to4: carries an arbitrary IPv4 address
    ['ff00::', 8], // multicast
  ],
);

/** An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, `::ffff:7f00:1`) as the IPv4 address it carries. */
function mappedV4(address: string): string | undefined {
  const dotted = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (dotted) return dotted[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * IPv4-mapped IPv6, consulted for IPv6 literals only: node:net's BlockList matches EVERY IPv4
 * address against an IPv4-mapped subnet, so in a list checked with IPv4 addresses it would refuse
 * them all (as it did in the registry's list before). A mapped address is checked as the IPv4
 * address it carries; one spelled so that it cannot be read as one is refused.
 */
const MAPPED = blockList([], [['::ffff:0:0', 96]]);

/** What a caller may connect to besides public unicast addresses (both off by default). */
export interface AddressAllowance {
  private?: boolean;
  loopback?: boolean;
}

/** Is `address` (an IP literal) one the caller may connect to: public unicast, or an allowed private or loopback one? */
export function isPublicAddress(address: string, allow: AddressAllowance = {}): boolean {
  const v4 = mappedV4(address);
  if (v4 !== undefined) return isPublicAddress(v4, allow);
  const family = isIP(address);
  if (family === 0) return false; // not an address at all: nothing to connect to
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (type === 'ipv6' && MAPPED.check(address, 'ipv6')) return false;
  if (RESERVED.check(address, type)) return false;
  if (PRIVATE.check(address, type)) return allow.private === true;
  if (LOOPBACK.check(address, type)) return allow.loopback === true;
  return true;
}

/**
 * `host` as the IP address a URL parser makes of it (WHATWG URL host parsing, which Node's fetch
 * and http use), null when it is a domain name. Besides dotted quads that includes `127.1`,
 * `0x7f.1`, `0177.0.0.1`, `2130706433` and `0.0`: a host whose last label is a number is an IPv4
 * address. A host the parser refuses is answered as itself: it can never be a domain whose owner
 * proves anything.
 */
export function addressOfHost(host: string): string | null {
  let hostname: string;
  try {
    hostname = new URL(`https://${host}/`).hostname;
  } catch {
    return host;
  }
  const bare = hostname.replace(/^\[|\]$/g, '');
  return isIP(bare) !== 0 ? bare : null;
}
