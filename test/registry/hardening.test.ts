import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore, resolveConfig, ROUTES, startServer } from '../../registry/index.js';
import { clientKeyOf, TokenBucketLimiter } from '../../registry/http/rate-limit.js';
import { fsckRegistry } from '../../registry/store/fsck.js';
import { MAX_BUNDLE_SET, ProblemSchema } from '../../schemas/index.js';
import { harness, manifestOf, provider, publishReq, realTools, signed, snapshot, type Harness } from './helpers.js';

describe('hardening', () => {
  describe('when the body is too large', () => {
    let h: Harness;
    let token: string;
    beforeAll(async () => {
      h = await harness({ maxBodyBytes: 4096 });
      token = (await provider(h, 'com.acme')).token;
    });
    afterAll(() => h.close());

    it('refuses a declared Content-Length over the limit with 413 before parsing', async () => {
      const before = await snapshot(h);
      const res = await publishReq(h, token, `{"x":"${'a'.repeat(10_000)}", dup keys are never parsed`);
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
      expect(await snapshot(h)).toEqual(before);
    });
    it('refuses a chunked body that grows past the limit', async () => {
      const app = h.app;
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const port = (server.address() as { port: number }).port;
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/tools', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        for (let i = 0; i < 10; i++) req.write('a'.repeat(1000));
        req.end();
      });
      server.close();
      expect(status).toBe(413);
    });
    it('refuses a body that is not application/json with 415', async () => {
      const res = await request(h.app).post('/v1/tools').set('Authorization', `Bearer ${token}`).set('Content-Type', 'text/plain').send('{}');
      expect(res.status).toBe(415);
      expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('when a client sends too many requests', () => {
    it('answers 429 with Retry-After', async () => {
      const h = await harness({ rateLimit: { capacity: 3, refillPerSecond: 0.5 } });
      try {
        const statuses = [];
        for (let i = 0; i < 5; i++) statuses.push(await request(h.app).get('/v1/tools'));
        expect(statuses.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
        expect(statuses[3]!.headers['retry-after']).toBe('2');
        expect(statuses[3]!.body.code).toBe('RATE_LIMITED');
      } finally {
        await h.close();
      }
    });

    it('charges a bundle set one token per version it names (one request cannot do the work of hundreds for free)', async () => {
      const h = await harness({ rateLimit: { capacity: 10, refillPerSecond: 0.5 } });
      const versions = (n: number) => Array.from({ length: n }, (_, i) => ({ toolId: `com.acme/t${i}`, version: 'latest' }));
      try {
        expect((await request(h.app).post('/v1/bundles').send({ versions: versions(4) })).status).toBe(200);
        // 6 left: a set of 7 fits a full bucket but not now, so it may retry
        const big = await request(h.app).post('/v1/bundles').send({ versions: versions(7) });
        expect(big.status).toBe(429);
        expect(big.body.code).toBe('RATE_LIMITED');
        expect(Number(big.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        // the refused set took only its entry token: 5 remain, a set of 5 fits, then nothing does
        expect((await request(h.app).post('/v1/bundles').send({ versions: versions(5) })).status).toBe(200);
        expect((await request(h.app).get('/v1/tools')).status).toBe(429);
      } finally {
        await h.close();
      }
    });
  });

  describe('when a client rotates its source address', () => {
    it('keys an IPv6 client by its /64: rotating inside it shares one bucket', () => {
      const limiter = new TokenBucketLimiter({ capacity: 3, refillPerSecond: 0.001, maxClients: 1000 }, () => 0);
      const rotated = ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:abcd::9', '2001:db8:1:2:0:0:0:7'];
      expect(rotated.map((a) => limiter.take(clientKeyOf(a)))).toEqual([0, 0, 0, 1000]);
      // the next /64 is another subscriber; an IPv4-mapped address is its IPv4 address
      expect(limiter.take(clientKeyOf('2001:db8:1:3::1'))).toBe(0);
      expect(clientKeyOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
      expect(clientKeyOf('192.0.2.7')).toBe('192.0.2.7');
    });

    it('holds at most maxClients buckets whatever the number of addresses (bounded memory)', () => {
      let now = 0;
      const limiter = new TokenBucketLimiter({ capacity: 5, refillPerSecond: 1, maxClients: 100 }, () => now);
      for (let i = 0; i < 20_000; i++) {
        limiter.take(clientKeyOf(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
        now += 1; // 20 s in all: less than one sweep period per thousand clients
      }
      expect(limiter.clients).toBeLessThanOrEqual(100);
    });
  });

  describe('when a bundle set costs more than a whole bucket', () => {
    it.each([
      ['one version over the bucket', 11],
      ['the schema maximum, far over a small bucket', MAX_BUNDLE_SET],
    ])('refuses it at once with 413 BUNDLE_SET_TOO_LARGE naming the maximum, never a retry (%s)', async (_name, n) => {
      const h = await harness({ rateLimit: { capacity: 10, refillPerSecond: 0.5 } });
      const versions = Array.from({ length: n }, (_, i) => ({ toolId: `com.acme/t${i}`, version: 'latest' }));
      try {
        const res = await request(h.app).post('/v1/bundles').send({ versions });
        expect([res.status, res.body.code]).toEqual([413, 'BUNDLE_SET_TOO_LARGE']);
        expect(res.body).toMatchObject({ max: 10, got: n });
        expect(res.headers['retry-after']).toBeUndefined();
        // it cost its entry token only: a set that fits still passes
        expect((await request(h.app).post('/v1/bundles').send({ versions: versions.slice(0, 9) })).status).toBe(200);
      } finally {
        await h.close();
      }
    });

    it('fits the largest bundle set the schema allows in the default bucket', async () => {
      const { rateLimit } = resolveConfig();
      expect(rateLimit !== false && rateLimit.capacity).toBeGreaterThanOrEqual(MAX_BUNDLE_SET);
    });
  });

  describe('when an unexpected error happens', () => {
    it('logs it and answers an opaque 500 problem', async () => {
      const logged: string[] = [];
      const h = await harness({ errorLog: (l) => logged.push(l) });
      await h.sql('ALTER TABLE tools RENAME TO tools_gone'); // a broken store: an SQL error inside a read
      const res = await request(h.app).get('/v1/tools');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ type: 'urn:etdi:problem:internal', title: 'Internal Server Error', status: 500, detail: 'internal error', code: 'INTERNAL' });
      expect(JSON.stringify(res.body)).not.toMatch(/tools|sqlite/i);
      expect(logged.join('\n')).toMatch(/no such table: tools|relation \\+"tools\\+" does not exist/); // SQLite's words, PostgreSQL's (JSON-escaped)
      await h.close();
    });
  });

  describe('every error', () => {
    it('is an RFC 9457 problem document', async () => {
      const h = await harness();
      const res = await request(h.app).get('/nope');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(ProblemSchema.parse(res.body).code).toBe('NOT_FOUND');
      await h.close();
    });
  });

  describe('request logs', () => {
    it('write one JSON line per request without the Authorization header', async () => {
      const lines: string[] = [];
      const h = await harness({ requestLog: (l) => lines.push(l) });
      const { token } = await provider(h, 'com.acme');
      lines.length = 0;
      await request(h.app).get('/v1/tools?q=secret-query').set('Authorization', `Bearer ${token}`);
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]!);
      expect(line).toMatchObject({ method: 'GET', path: '/v1/tools', status: 200 });
      expect(lines[0]).not.toContain(token);
      expect(lines[0]).not.toContain('secret-query');
      await h.close();
    });
  });

  describe('POST /v1/tools', () => {
    it.each([
      ['its path', '/v1/tools'],
      ['its path with a query string', '/v1/tools?via=query'],
    ])('logs, rate-limits, refuses while closing and answers errors as every route does: %s', async (_name, path) => {
      const lines: string[] = [];
      const h = await harness({ requestLog: (l) => lines.push(l), rateLimit: { capacity: 20, refillPerSecond: 0.01 } });
      try {
        const acme = await provider(h, 'com.acme');
        const post = (body: unknown, token = acme.token): request.Test =>
          request(h.app).post(path).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
        lines.length = 0;
        const ok = await post(await signed(acme.key, manifestOf('com.acme', realTools('filesystem')[0]!, '1.0.0')));
        expect(ok.status).toBe(201);
        expect(JSON.parse(lines.at(-1)!)).toMatchObject({ method: 'POST', path: '/v1/tools', status: 201 });
        const unauth = await post({}, 'not-a-token');
        expect([unauth.status, unauth.body.code]).toEqual([401, 'UNAUTHENTICATED']);
        expect(JSON.parse(lines.at(-1)!)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
        const bad = await request(h.app).post(path).set('Authorization', `Bearer ${acme.token}`).set('Content-Type', 'application/json').send('{"manifest":');
        expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_JSON']);
        expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
        h.app.registry.closing = true;
        const closing = await post({});
        expect([closing.status, closing.body.code, closing.headers['retry-after']]).toEqual([503, 'SHUTTING_DOWN', '1']);
        h.app.registry.closing = false;
        let limited: request.Response | undefined;
        for (let i = 0; i < 25 && limited === undefined; i++) {
          const res = await post({});
          if (res.status === 429) limited = res;
        }
        expect(limited?.body.code).toBe('RATE_LIMITED');
        expect(limited?.headers['retry-after']).toBeDefined();
      } finally {
        await h.close();
      }
    });
  });

  describe('/openapi.json', () => {
    it('is generated from the route table and the zod schemas', async () => {
      const h = await harness();
      const res = await request(h.app).get('/openapi.json');
      expect(res.body.openapi).toBe('3.1.0');
      for (const r of ROUTES) expect(res.body.paths[r.path][r.method]).toBeDefined();
      expect(res.body.paths['/v1/tools'].post.requestBody.content['application/json'].schema.properties.manifest).toBeDefined();
      expect(res.body.paths['/v1/declarations'].post.requestBody.content['application/json'].schema.properties.signed).toBeDefined();
      await h.close();
    });

    it('describes each log route with its parameters, and each answer matches its documented schema', async () => {
      const h = await harness();
      try {
        await provider(h, 'com.acme'); // one leaf, one signed checkpoint
        await provider(h, 'com.globex');
        const doc = (await request(h.app).get('/openapi.json')).body;
        expect(doc.paths['/v1/log/{path}']).toBeUndefined();
        const logPaths = Object.keys(doc.paths).filter((path) => path.startsWith('/v1/log/')).sort();
        expect(logPaths).toEqual(['/v1/log/checkpoint', '/v1/log/entries', '/v1/log/key', '/v1/log/proof/consistency', '/v1/log/proof/inclusion']);
        const params = (path: string): Record<string, boolean> =>
          Object.fromEntries(doc.paths[path].get.parameters.map((p: { name: string; required: boolean }) => [p.name, p.required]));
        expect(params('/v1/log/entries')).toEqual({ start: true, end: true, encoding: false });
        expect(params('/v1/log/proof/inclusion')).toEqual({ index: false, leafHash: false, size: false });
        expect(params('/v1/log/proof/consistency')).toEqual({ from: true, to: false });
        expect(doc.paths['/v1/log/checkpoint'].get.responses['200'].content['text/plain']).toBeDefined();
        // the real answers, with the required parameters filled, against the schemas the document was made from
        const query: Record<string, string> = { '/v1/log/entries': '?start=0&end=2', '/v1/log/proof/inclusion': '?index=0', '/v1/log/proof/consistency': '?from=1' };
        for (const route of ROUTES.filter((r) => r.path.startsWith('/v1/log/'))) {
          const res = await request(h.app).get(route.path + (query[route.path] ?? ''));
          expect(res.status, route.path).toBe(route.status);
          if (route.response) expect(route.response.safeParse(res.body).success, `${route.path}: ${JSON.stringify(res.body)}`).toBe(true);
          else expect(res.text).toMatch(/^registry\.test\/log\n\d+\n/);
        }
      } finally {
        await h.close();
      }
    });
  });

  describe('the audit trail and the log', () => {
    it('agree entry by entry (fsck cross-check)', async () => {
      const h = await harness();
      const { key, token } = await provider(h, 'com.acme');
      const def = realTools('memory')[0]!;
      await publishReq(h, token, await signed(key, manifestOf('com.acme', def, '1.0.0')));
      const report = await fsckRegistry(h.store);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.size).toBe(2);
      await h.close();
    });

    // Someone with write access to the database file, not to the provider's key or the log.
    it.each([
      ['a stored manifest rewritten, its digest columns left alone', `UPDATE versions SET signed_manifest = replace(signed_manifest, '"description":"', '"description":"Also uploads your files. ')`],
      ['a version row pointed at another definition digest', `UPDATE versions SET definition_digest = 'sha256:${'0'.repeat(64)}'`],
      ['a version row naming another signer key', `UPDATE versions SET signer_key_id = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'`],
    ])('finds %s (fsck: ENTRY_REJECTED at its leaf)', async (_name, sql) => {
      const h = await harness();
      const { key, token } = await provider(h, 'com.acme');
      await publishReq(h, token, await signed(key, manifestOf('com.acme', realTools('memory')[0]!, '1.0.0')));
      expect(await h.sql(sql)).toBe(1);
      const report = await fsckRegistry(h.store);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([expect.objectContaining({ code: 'ENTRY_REJECTED', index: 1 })]);
      await h.close();
    });
  });

  describe('graceful shutdown', () => {
    it('finishes in-flight publishes, refuses new connections and closes the store', async () => {
      const h = await harness();
      await h.store.close();
      const store = SqliteStore.open({ path: join(h.dir, 'registry.db') });
      const running = await startServer({ store, port: 0, config: { origin: 'https://registry.test', logOrigin: 'registry.test/log', adminToken: 'admin-token-0123456789abcdef', requestLog: false } });
      const keyHolder = await provider({ ...h, app: running.app, store }, 'com.acme');
      const def = realTools('memory')[1]!;
      const body = JSON.stringify(await signed(keyHolder.key, manifestOf('com.acme', def, '1.0.0')));
      // an in-flight request: headers and half the body sent when shutdown starts
      const arrived = new Promise((r) => running.server.once('request', r));
      const port = Number(new URL(running.url).port);
      let req!: ReturnType<typeof httpRequest>;
      const inFlight = new Promise<number>((resolve, reject) => {
        req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/tools', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${keyHolder.token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.write(body.slice(0, 100));
      });
      await arrived;
      const closing = running.close();
      req.end(body.slice(100));
      expect(await inFlight).toBe(201);
      await closing;
      expect(store.db.open).toBe(false);
      await expect(fetch(`${running.url}/v1/tools`)).rejects.toThrow();
      const reopened = SqliteStore.open({ path: join(h.dir, 'registry.db') });
      expect((await reopened.counts()).versions).toBe(1);
      await reopened.close();
    });
  });
});
