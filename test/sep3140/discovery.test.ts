/**
 * The discovery fetch's SSRF protections (SEP-3140: "block private/link-local ranges,
 * HTTPS-only, DNS-pin"), against real HTTP servers on 127.0.0.1 and a resolver that answers what
 * an attacker's DNS would. One case per way a server's metadata could steer the host's requests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerificationError, discoverSigningKeys } from '../../client-verifier/index.js';
import { createDiscoveryFetch, type DiscoveryFetchOptions } from '../../client-verifier/node.js';

let http: Server;
let origin: string;
let port: number;

beforeAll(async () => {
  http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    switch (path) {
      case '/ok':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      case '/same-origin-redirect':
        return void res.writeHead(302, { location: '/ok' }).end();
      case '/cross-origin-redirect':
        return void res.writeHead(302, { location: `http://localhost:${port}/ok` }).end();
      case '/metadata-redirect':
        return void res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      case '/huge':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [], pad: 'x'.repeat(200_000) }));
      case '/huge-chunked':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys":[],"pad":"');
        for (let i = 0; i < 100; i++) res.write('x'.repeat(4096));
        return void res.end('"}');
      case '/duplicate-keys':
        return void res.writeHead(200).end('{"keys":[],"keys":[{"kty":"OKP"}]}');
      case '/missing':
        return void res.writeHead(404).end();
      case '/slow':
        return; // never answers
      case '/no-jwks-uri':
        return void res.writeHead(200).end(JSON.stringify({ resource: `${origin}/mcp` }));
      default:
        return void res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

/** A resolver that answers `addresses` for every name (an attacker's DNS). */
const resolvingTo = (...addresses: string[]): DiscoveryFetchOptions['lookup'] =>
  ((_host: string, _options: unknown, callback: (e: null, a: LookupAddress[]) => void) =>
    callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })))) as never;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VerificationError);
  return (error as VerificationError).code;
}

describe('refused before any connection (DISCOVERY_REFUSED)', () => {
  it.each([
    ['plain http to another host', 'http://keys.example/jwks.json', {}],
    ['plain http to loopback without the loopback allowance', () => `${origin}/ok`, {}],
    ['https to a loopback address without the allowance', 'https://127.0.0.1/jwks.json', {}],
    ['a private address (RFC 1918)', 'https://10.0.0.5/jwks.json', {}],
    ['the cloud metadata address (link-local)', 'https://169.254.169.254/latest/meta-data/', {}],
    ['a shared (CGNAT) address', 'https://100.64.0.1/jwks.json', {}],
    ['an IPv6 unique-local address', 'https://[fd00::1]/jwks.json', {}],
    ['an IPv4-mapped IPv6 private address', 'https://[::ffff:10.0.0.1]/jwks.json', {}],
    ['the unspecified address', 'https://0.0.0.0/jwks.json', { allowLoopback: true, allowPrivateAddresses: true }],
    ['credentials in the URL', 'https://user:secret@keys.example/jwks.json', {}],
    ['another scheme', 'file:///etc/passwd', { allowLoopback: true }],
  ] as const)('%s', async (_name, url, options) => {
    const fetchJson = createDiscoveryFetch(options);
    expect(await codeOf(fetchJson(new URL(typeof url === 'function' ? url() : url)))).toBe('DISCOVERY_REFUSED');
  });

  it.each([
    ['a name that resolves to a private address', ['10.1.2.3']],
    ['a name that resolves to loopback', ['127.0.0.1']],
    ['a name with a public and a private address (DNS rebinding)', ['93.184.215.14', '192.168.1.1']],
    ['a name that resolves to the link-local metadata service', ['169.254.169.254']],
    // the registry's address policy, shared: ranges that carry an IPv4 address inside IPv6
    ['a name that resolves to a 6to4 address (2002::/16 carries any IPv4 address)', ['2002:a00:1::1']],
    ['a name that resolves to a Teredo address (2001::/32)', ['2001:0:4136:e378::1']],
    ['a name that resolves to a hex IPv4-mapped loopback address', ['::ffff:7f00:1']],
  ])('%s: the addresses are checked where the connection is made (DNS pinning)', async (_name, addresses) => {
    const fetchJson = createDiscoveryFetch({ lookup: resolvingTo(...addresses) });
    expect(await codeOf(fetchJson(new URL('https://keys.example/jwks.json')))).toBe('DISCOVERY_REFUSED');
  });
});

describe('fetched under limits', () => {
  const loopback = createDiscoveryFetch({ allowLoopback: true, maxBytes: 64 * 1024, timeoutMs: 500 });

  it('a document on an allowed address is fetched and parsed as strict JSON', async () => {
    await expect(loopback(new URL(`${origin}/ok`))).resolves.toEqual({ keys: [] });
  });

  it('a redirect to the same origin is followed', async () => {
    await expect(loopback(new URL(`${origin}/same-origin-redirect`))).resolves.toEqual({ keys: [] });
  });

  it.each([
    ['a redirect to another host', '/cross-origin-redirect', 'DISCOVERY_REFUSED'],
    ['a redirect to the cloud metadata service', '/metadata-redirect', 'DISCOVERY_REFUSED'],
    ['a document larger than the limit (Content-Length)', '/huge', 'DISCOVERY_FAILED'],
    ['a document larger than the limit (chunked, no Content-Length)', '/huge-chunked', 'DISCOVERY_FAILED'],
    ['a document with a duplicate key', '/duplicate-keys', 'DISCOVERY_FAILED'],
    ['an HTTP error status', '/missing', 'DISCOVERY_FAILED'],
    ['no answer within the time limit', '/slow', 'DISCOVERY_FAILED'],
  ])('%s', async (_name, path, code) => {
    expect(await codeOf(loopback(new URL(`${origin}${path}`)))).toBe(code);
  });

  it('metadata without mcp_signing_jwks_uri: DISCOVERY_FAILED (a server that signs must publish its keys)', async () => {
    // this origin's metadata document, wherever discovery asks for it
    const metadataAt = (): Promise<unknown> => loopback(new URL(`${origin}/no-jwks-uri`));
    expect(await codeOf(discoverSigningKeys(`${origin}/mcp`, metadataAt))).toBe('DISCOVERY_FAILED');
  });
});
