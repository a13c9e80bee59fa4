import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../protocol/index.js';
import type { ResolvedAddress } from '../../registry/index.js';
import { ADMIN_TOKEN, harness, registrationBody, snapshot, type Harness } from './helpers.js';

/**
 * The domain-control proof fetches a URL a registrant chose: server-side request forgery and
 * memory exhaustion through it (issue 17, items 1 and 2).
 */

/** A real local HTTP server standing in for the namespace's domain (the dev override points at it). */
async function domainServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; hostPort: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const wellKnownRegistration = (h: Harness, namespace: string): Promise<request.Response> =>
  registrationBody(h, namespace, generateKeyPair(), { verification: 'well-known' }).then((body) => request(h.app).post('/v1/namespaces').send(body));

let h: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

describe('the domain-control proof', () => {
  describe('when the namespace reversed is an IP address in some spelling', () => {
    it.each([
      ['dotted quad, loopback', '1.0.0.127', '127.0.0.1'],
      ['short form (127.1)', '1.127', '127.0.0.1'],
      ['hexadecimal label (0x7f.1)', '1.0x7f', '127.0.0.1'],
      ['octal label (0177.0.0.1)', '1.0.0.0177', '127.0.0.1'],
      ['unspecified, short (0.0)', '0.0', '0.0.0.0'],
      ['cloud metadata service', '254.169.254.169', '169.254.169.254'],
      ['a numeric top-level label no parser takes as a name', '2130706433.com', 'com.2130706433'],
    ])('refuses %s at registration, before any lookup or fetch (NAMESPACE_IS_ADDRESS)', async (_attack, namespace, address) => {
      const asked: string[] = [];
      h = await harness({ wellKnown: { resolve: async (host) => (asked.push(host), [{ address: '127.0.0.1', family: 4 }]) } });
      const before = await snapshot(h);
      for (const verification of ['well-known', 'admin-grant'] as const) {
        const body = await registrationBody(h, namespace, generateKeyPair(), { verification });
        const res = await request(h.app).post('/v1/namespaces').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body);
        expect([res.status, res.body.code]).toEqual([422, 'NAMESPACE_IS_ADDRESS']);
        expect(res.body).toMatchObject({ namespace, address });
      }
      expect(asked).toEqual([]);
      expect(await snapshot(h)).toEqual(before);
    });
  });

  describe('when the domain name resolves to an address that is not public', () => {
    it.each<[string, ResolvedAddress[]]>([
      ['loopback', [{ address: '127.0.0.1', family: 4 }]],
      ['IPv6 loopback', [{ address: '::1', family: 6 }]],
      ['IPv4-mapped loopback', [{ address: '::ffff:127.0.0.1', family: 6 }]],
      ['private network', [{ address: '10.1.2.3', family: 4 }]],
      ['cloud metadata (link-local)', [{ address: '169.254.169.254', family: 4 }]],
      ['unspecified', [{ address: '0.0.0.0', family: 4 }]],
      ['IPv6 unique local', [{ address: 'fd00::1', family: 6 }]],
      ['multicast', [{ address: '224.0.0.1', family: 4 }]],
      ['a public address next to a loopback one (rebinding by answer order)', [
        { address: '8.8.8.8', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]],
    ])('refuses %s after resolution, without connecting (DOMAIN_NOT_VERIFIED)', async (_attack, answer) => {
      const asked: string[] = [];
      h = await harness({ wellKnown: { resolve: async (host) => (asked.push(host), answer) } });
      const before = await snapshot(h);
      const res = await wellKnownRegistration(h, 'com.acme');
      expect([res.status, res.body.code]).toEqual([403, 'DOMAIN_NOT_VERIFIED']);
      expect(res.body.detail).toMatch(/acme\.com does not resolve to public addresses only/);
      expect(asked).toEqual(['acme.com']); // resolved once: the connection would use this answer
      expect(await snapshot(h)).toEqual(before);
    });
  });

  describe("when the domain answers something other than the document", () => {
    it("does not echo the remote service's answer (status, headers or body)", async () => {
      const domain = await domainServer((_req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="internal-admin-console"' }).end('internal secret: db-password=hunter2');
      });
      server = domain.server;
      h = await harness({ wellKnown: { allowHttpLoopback: true, hostOverrides: { 'acme.com': domain.hostPort } } });
      const res = await wellKnownRegistration(h, 'com.acme');
      expect([res.status, res.body.code]).toEqual([403, 'DOMAIN_NOT_VERIFIED']);
      const text = JSON.stringify(res.body);
      // \b: the URL's random port may hold the digits 401 (127.0.0.1:54012), the status alone may not
      expect(text).not.toMatch(/\b401\b|internal-admin-console|hunter2|secret/);
      expect(res.body.detail).toMatch(/must answer 200 over HTTPS on port 443/);
    });

    it('cancels a non-200 body instead of reading it (an endless error page)', async () => {
      let written = 0;
      let closed = false;
      const domain = await domainServer((_req, res) => {
        res.writeHead(500, { 'content-type': 'text/html' });
        res.on('close', () => (closed = true));
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk)) written += chunk.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
      server = domain.server;
      h = await harness({ wellKnown: { allowHttpLoopback: true, hostOverrides: { 'acme.com': domain.hostPort }, timeoutMs: 60_000 } });
      const res = await wellKnownRegistration(h, 'com.acme');
      expect([res.status, res.body.code]).toEqual([403, 'DOMAIN_NOT_VERIFIED']);
      await waitUntil(() => closed);
      expect(written).toBeLessThan(32 * 1024 * 1024);
    });
  });

  describe('when the document is a chunked body far over the cap', () => {
    it('cuts the connection at the cap: memory stays bounded whatever the body size', async () => {
      // an endless chunked 200 (no Content-Length): buffering it whole would never finish
      let written = 0;
      let closed = false;
      const domain = await domainServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length to trust
        res.on('close', () => (closed = true));
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk)) written += chunk.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
      server = domain.server;
      h = await harness({ wellKnown: { allowHttpLoopback: true, hostOverrides: { 'acme.com': domain.hostPort }, timeoutMs: 60_000 } });
      const heapBefore = process.memoryUsage().heapUsed;
      const res = await wellKnownRegistration(h, 'com.acme');
      expect([res.status, res.body.code]).toEqual([403, 'DOMAIN_NOT_VERIFIED']);
      expect(res.body.detail).toMatch(/is larger than 16384 bytes/);
      await waitUntil(() => closed);
      // what the server managed to push into the socket buffers before the cut, not 1 GiB
      expect(written).toBeLessThan(32 * 1024 * 1024);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    });
  });

  describe('when many registrations wait on slow domains', () => {
    /** A domain that accepts the request and never answers. */
    const silentDomain = async (): Promise<{ hostPort: string; requests: () => number }> => {
      let n = 0;
      const domain = await domainServer(() => void n++);
      server = domain.server;
      return { hostPort: domain.hostPort, requests: () => n };
    };
    const overrides = (hostPort: string, n: number): Record<string, string> =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}.example`, hostPort]));

    it('bounds one client to maxConcurrentPerClient fetches in flight (429, no socket opened)', async () => {
      const domain = await silentDomain();
      h = await harness({ wellKnown: { allowHttpLoopback: true, hostOverrides: overrides(domain.hostPort, 3), timeoutMs: 2_000, maxConcurrentPerClient: 2 } });
      const slow = [wellKnownRegistration(h, 'example.d0'), wellKnownRegistration(h, 'example.d1')];
      await waitUntil(() => domain.requests() === 2);
      const third = await wellKnownRegistration(h, 'example.d2');
      expect([third.status, third.body.code]).toEqual([429, 'RATE_LIMITED']);
      expect(domain.requests()).toBe(2);
      for (const res of await Promise.all(slow)) expect(res.body.code).toBe('DOMAIN_NOT_VERIFIED'); // timed out
    });

    it('bounds all clients together to maxConcurrent fetches in flight (503 OVERLOADED)', async () => {
      const domain = await silentDomain();
      h = await harness({ wellKnown: { allowHttpLoopback: true, hostOverrides: overrides(domain.hostPort, 3), timeoutMs: 2_000, maxConcurrent: 2, maxConcurrentPerClient: 5 } });
      const slow = [wellKnownRegistration(h, 'example.d0'), wellKnownRegistration(h, 'example.d1')];
      await waitUntil(() => domain.requests() === 2);
      const third = await wellKnownRegistration(h, 'example.d2');
      expect([third.status, third.body.code]).toEqual([503, 'OVERLOADED']);
      expect(third.headers['retry-after']).toBe('5');
      await Promise.all(slow);
    });
  });
});

async function waitUntil(condition: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
