import { BlockList, isIP } from 'node:net';

/**
 * Where the registry may connect when it fetches something a registrant named (the domain-control
 * document): public unicast addresses only. Everything else is refused, by name or by number,
 * so that a registration cannot make the registry reach its own host, its network or a cloud
 * metadata service (server-side request forgery). Ranges: RFC 6890 special-purpose registries
 * (IPv4 and IPv6), plus multicast and the reserved 240/4.
 */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", the unspecified address
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the limited broadcast address
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::ffff:0:0', 96], // IPv4-mapped: checked as the IPv4 address it carries (below), never as itself
  ['64:ff9b::', 96], // NAT64: would reach any IPv4 address, private ones included
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo included)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: carries an arbitrary IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** Is `address` (an IP literal) a public unicast address the registry may connect to? */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family === 6) {
    const mapped = MAPPED_V4.exec(address);
    if (mapped !== null) return isPublicAddress(mapped[1]!);
    return !NOT_PUBLIC.check(address, 'ipv6');
  }
  return false; // not an address at all: nothing to connect to
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
