import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signBytes, canonicalBytes } from '../../protocol/index.js';
import { wellKnownUrl, RegistryError } from '../../registry/index.js';
import { auditTail, ADMIN_TOKEN, harness, provider, registrationBody, snapshot, type Harness } from './helpers.js';

describe('namespace registration', () => {
  let h: Harness;
  let wk: Server;
  let wkPort = 0;
  const documents = new Map<string, unknown>();
  beforeAll(async () => {
    // the domain-control documents, served by a real local HTTP server
    wk = createServer((req, res) => {
      const doc = documents.get(req.headers.host?.split(':')[0] === '127.0.0.1' ? (req.url ?? '') : '');
      if (doc === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((r) => wk.listen(0, '127.0.0.1', r));
    wkPort = (wk.address() as AddressInfo).port;
    h = await harness({
      wellKnown: { allowHttpLoopback: true, hostOverrides: { 'acme.com': `127.0.0.1:${wkPort}`, 'globex.com': `127.0.0.1:${wkPort}` } },
    });
    await provider(h, 'io.github.alice');
    await provider(h, 'com.modern');
  });
  afterAll(async () => {
    await h.close();
    wk.close();
  });

  describe('when the domain serves a well-known document listing the key', () => {
    it('registers the namespace with its first key, one audit event and one log leaf', async () => {
      const key = generateKeyPair();
      documents.set('/.well-known/etdi-namespace.json', { namespace: 'com.acme', keys: [key.keyId] });
      const before = await snapshot(h);
      const res = await request(h.app).post('/v1/namespaces').send(await registrationBody(h, 'com.acme', key, { verification: 'well-known' }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ namespace: 'com.acme', verification: 'well-known', activeKeys: 1, tools: 0 });
      const after = await snapshot(h);
      expect(after.counts.namespaces).toBe(before.counts.namespaces + 1);
      expect(after.logSize).toBe(before.logSize + 1);
      const [last] = (await auditTail(h, 1));
      expect(last!.event).toMatchObject({ kind: 'namespace.registered', namespace: 'com.acme', keyId: key.keyId, actor: `key:${key.keyId}` });
      const keys = await request(h.app).get('/v1/namespaces/com.acme/keys');
      expect(keys.body).toEqual([expect.objectContaining({ keyId: key.keyId, status: 'active' })]);
    });
  });

  describe('when an administrator grants the namespace', () => {
    it('registers it (actor admin)', async () => {
      const res = await request(h.app)
        .post('/v1/namespaces')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .send(await registrationBody(h, 'org.example', generateKeyPair()));
      expect(res.status).toBe(201);
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ actor: 'admin:config', verification: 'admin-grant' });
    });
  });

  describe('when the registration is refused', () => {
    const otherKey = generateKeyPair();
    const cases: [string, () => Promise<{ body: Record<string, unknown>; auth?: string }>, number, string][] = [
      ['statement for another registry (cross-registry replay)', async () => ({ body: await registrationBody(h, 'com.globex', generateKeyPair(), { registry: 'https://evil.test', verification: 'admin-grant' }), auth: ADMIN_TOKEN }), 422, 'WRONG_REGISTRY'],
      ['stale statement', async () => ({ body: await registrationBody(h, 'com.globex', generateKeyPair(), { issuedAt: new Date(h.clock.now - 3_600_000).toISOString() }), auth: ADMIN_TOKEN }), 422, 'STATEMENT_STALE'],
      ['proof signed by another key', async () => {
        const key = generateKeyPair();
        const body = await registrationBody(h, 'com.globex', key);
        body.signature = await signBytes(otherKey.privateJwk, canonicalBytes(body.statement));
        return { body, auth: ADMIN_TOKEN };
      }, 422, 'BAD_PROOF'],
      ['statement names another key than the JWK', async () => {
        const body = await registrationBody(h, 'com.globex', generateKeyPair());
        body.jwk = otherKey.publicJwk;
        return { body, auth: ADMIN_TOKEN };
      }, 422, 'BAD_PROOF'],
      ['admin grant without a token', async () => ({ body: await registrationBody(h, 'com.globex', generateKeyPair()) }), 401, 'UNAUTHENTICATED'],
      ['admin grant with a wrong token', async () => ({ body: await registrationBody(h, 'com.globex', generateKeyPair()), auth: 'not-the-admin-token-at-all' }), 401, 'UNAUTHENTICATED'],
      ['namespace already registered', async () => ({ body: await registrationBody(h, 'io.github.alice', generateKeyPair()), auth: ADMIN_TOKEN }), 409, 'NAMESPACE_EXISTS'],
      ['look-alike of a registered namespace (rn for m)', async () => ({ body: await registrationBody(h, 'com.rnodern', generateKeyPair()), auth: ADMIN_TOKEN }), 409, 'NAMESPACE_LOOKALIKE'],
      ['well-known document missing (404)', async () => ({ body: await registrationBody(h, 'com.globex', generateKeyPair(), { verification: 'well-known' }) }), 403, 'DOMAIN_NOT_VERIFIED'],
      ['well-known document does not list the key', async () => {
        documents.set('/.well-known/etdi-namespace.json', { namespace: 'com.globex', keys: [otherKey.keyId] });
        return { body: await registrationBody(h, 'com.globex', generateKeyPair(), { verification: 'well-known' }) };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['well-known document for another namespace', async () => {
        const key = generateKeyPair();
        documents.set('/.well-known/etdi-namespace.json', { namespace: 'com.acme', keys: [key.keyId] });
        return { body: await registrationBody(h, 'com.globex', key, { verification: 'well-known' }) };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['not reverse-DNS', async () => ({ body: await registrationBody(h, 'Acme', generateKeyPair()), auth: ADMIN_TOKEN }), 422, 'SCHEMA_INVALID'],
    ];
    it.each(cases)('refuses %s, store and log unchanged', async (_name, make, status, code) => {
      const { body, auth } = await make();
      const before = await snapshot(h);
      let req = request(h.app).post('/v1/namespaces');
      if (auth) req = req.set('Authorization', `Bearer ${auth}`);
      const res = await req.send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(await snapshot(h)).toEqual(before);
    });

    it('names the URL it fetched and the exact document to serve in a DOMAIN_NOT_VERIFIED refusal, and the admin grant', async () => {
      const key = generateKeyPair();
      documents.delete('/.well-known/etdi-namespace.json');
      const res = await request(h.app).post('/v1/namespaces').send(await registrationBody(h, 'com.globex', key, { verification: 'well-known' }));
      const url = `http://127.0.0.1:${wkPort}/.well-known/etdi-namespace.json`;
      const expected = { keys: [key.keyId], namespace: 'com.globex' };
      expect(res.body).toMatchObject({ code: 'DOMAIN_NOT_VERIFIED', url, expected });
      expect(res.body.detail).toContain(`serve ${url}`);
      expect(res.body.detail).toContain(JSON.stringify(expected));
      expect(res.body.detail).toMatch(/administrator token \(admin grant\)/);
    });

    it('names the existing namespace in a look-alike refusal', async () => {
      const res = await request(h.app)
        .post('/v1/namespaces')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .send(await registrationBody(h, 'io.github.a1ice', generateKeyPair()));
      expect(res.body).toMatchObject({ code: 'NAMESPACE_LOOKALIKE', existing: 'io.github.alice' });
    });
  });

  describe('when an administrator token reaches a registry that has none configured', () => {
    it('refuses it as ADMIN_NOT_CONFIGURED, naming how to configure one, store and log unchanged', async () => {
      const bare = await harness({ adminToken: undefined });
      try {
        const before = await snapshot(bare);
        const res = await request(bare.app)
          .post('/v1/namespaces')
          .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
          .send(await registrationBody(bare, 'org.example', generateKeyPair()));
        expect([res.status, res.body.code]).toEqual([401, 'ADMIN_NOT_CONFIGURED']);
        expect(res.body.detail).toMatch(/ETDI_ADMIN_TOKEN/);
        expect(await snapshot(bare)).toEqual(before);
      } finally {
        await bare.close();
      }
    });
  });

  describe('wellKnownUrl', () => {
    it('is https on the reversed namespace by default', () => {
      expect(wellKnownUrl('com.acme', { allowHttpLoopback: false, hostOverrides: {} })).toBe(
        'https://acme.com/.well-known/etdi-namespace.json',
      );
    });
    it.each([
      ['without the dev flag', { allowHttpLoopback: false, hostOverrides: { 'acme.com': '127.0.0.1:1' } }],
      ['towards a non-loopback host', { allowHttpLoopback: true, hostOverrides: { 'acme.com': 'evil.example:80' } }],
    ])('refuses plain http %s', (_n, partial) => {
      expect(() => wellKnownUrl('com.acme', partial)).toThrow(RegistryError);
    });
  });
});
