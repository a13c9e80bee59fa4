import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient, VerificationError, type VerificationErrorCode } from '../../client-verifier/index.js';

let server: Server;
let base: string;
const routes = new Map<string, (res: import('node:http').ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const handler = routes.get(req.url ?? '');
    if (handler) handler(res);
    else res.writeHead(404, { 'content-type': 'application/problem+json' }).end('{"type":"about:blank","title":"Not Found","status":404,"code":"NOT_FOUND"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const BUNDLE = '/v1/tools/com.acme/search/versions/latest/bundle';

describe('RegistryClient', () => {
  describe('when the registry misbehaves', () => {
    it.each<[string, (res: import('node:http').ServerResponse) => void, VerificationErrorCode, { maxResponseBytes?: number; timeoutMs?: number }]>([
      ['never answers (timeout)', () => undefined, 'REGISTRY_UNAVAILABLE', { timeoutMs: 200 }],
      ['answers 500', (res) => res.writeHead(500, { 'content-type': 'application/problem+json' }).end('{"code":"INTERNAL"}'), 'REGISTRY_UNAVAILABLE', {}],
      ['declares a body over the cap', (res) => res.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000)), 'RESPONSE_TOO_LARGE', { maxResponseBytes: 1000 }],
      [
        'streams a body over the cap without a length',
        (res) => {
          res.writeHead(200, { 'transfer-encoding': 'chunked' });
          for (let i = 0; i < 20; i++) res.write('{"a":"' + 'x'.repeat(200) + '",');
          res.end();
        },
        'RESPONSE_TOO_LARGE',
        { maxResponseBytes: 1000 },
      ],
      ['sends duplicate keys', (res) => res.writeHead(200).end('{"type":"etdi.bundle/v1","type":"etdi.bundle/v1"}'), 'SCHEMA_INVALID', {}],
      ['sends invalid JSON', (res) => res.writeHead(200).end('{"type":'), 'SCHEMA_INVALID', {}],
      ['sends a document of another shape', (res) => res.writeHead(200).end('{"type":"etdi.bundle/v1"}'), 'SCHEMA_INVALID', {}],
      ['redirects elsewhere', (res) => res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(), 'REGISTRY_UNAVAILABLE', {}],
    ])('%s -> %s', async (_name, handler, code, options) => {
      routes.set(BUNDLE, handler);
      const client = new RegistryClient({ baseUrl: base, ...options });
      const error = await client.getBundle('com.acme/search', 'latest').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).code).toBe(code);
    });

    it('reports an unknown tool as UNKNOWN_TOOL (404)', async () => {
      const error = await new RegistryClient({ baseUrl: base }).getBundle('com.acme/missing', '1.0.0').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'UNKNOWN_TOOL' });
    });

    it('refuses a version list for another tool than asked (definitionDigest look-up)', async () => {
      const digest = `sha256:${'ab'.repeat(32)}`;
      routes.set(`/v1/tools/com.acme/search/versions?definitionDigest=${encodeURIComponent(digest)}`, (res) =>
        res.writeHead(200).end(JSON.stringify({ toolId: 'com.acme/other', versions: [{ version: '1.0.0', status: 'active', publishedAt: '2026-01-01T00:00:00Z', manifestDigest: digest }] })),
      );
      const error = await new RegistryClient({ baseUrl: base }).findVersions('com.acme/search', digest).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SCHEMA_INVALID', evidence: { expected: 'com.acme/search', got: 'com.acme/other' } });
    });

    it('refuses a consistency proof for other sizes than asked', async () => {
      routes.set('/v1/log/proof/consistency?from=1&to=3', (res) => res.writeHead(200).end('{"size1":1,"size2":4,"hashes":[]}'));
      const error = await new RegistryClient({ baseUrl: base }).getConsistencyProof(1, 3).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SCHEMA_INVALID' });
    });
  });

  it('cannot reach a closed port: REGISTRY_UNAVAILABLE', async () => {
    const error = await new RegistryClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 1000 }).getCheckpoint().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
  });
});
