// The one address policy of every fetch of a name someone else chose (the registry's domain
// proofs, a client's SEP-3140 discovery): public unicast only, unless private or loopback
// addresses are allowed.
import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../protocol/node.js';

describe('isPublicAddress', () => {
  it.each(['93.184.215.14', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    ['loopback', '127.0.0.1'],
    ['IPv6 loopback', '::1'],
    ['RFC 1918', '192.168.1.1'],
    ['cloud metadata (link-local)', '169.254.169.254'],
    ['carrier-grade NAT', '100.64.0.1'],
    ['unique local', 'fd00::1'],
    ['site-local', 'fec0::1'],
    ['6to4 relay anycast', '192.88.99.1'],
    ['6to4 (carries any IPv4 address)', '2002:a00:1::1'],
    ['Teredo', '2001:0:4136:e378::1'],
    ['local-use NAT64', '64:ff9b:1::a00:1'],
    ['NAT64', '64:ff9b::a00:1'],
    ['IPv4-mapped private, dotted', '::ffff:10.0.0.1'],
    ['IPv4-mapped loopback, hex', '::ffff:7f00:1'],
    ['IPv4-mapped, spelled out', '0:0:0:0:0:ffff:7f00:1'],
    ['unspecified', '0.0.0.0'],
    ['multicast', '224.0.0.1'],
    ['not an address', 'example.com'],
  ])('%s (%s) is refused', (_name, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it('allows private and loopback addresses only when asked, never reserved ones', () => {
    expect(isPublicAddress('10.0.0.1', { private: true })).toBe(true);
    expect(isPublicAddress('127.0.0.1', { private: true })).toBe(false);
    expect(isPublicAddress('127.0.0.1', { loopback: true })).toBe(true);
    expect(isPublicAddress('::ffff:127.0.0.1', { loopback: true })).toBe(true);
    expect(isPublicAddress('0.0.0.0', { private: true, loopback: true })).toBe(false);
  });
});
