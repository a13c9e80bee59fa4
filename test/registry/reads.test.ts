import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../protocol/index.js';
import { ATTESTATION_JWT_TYPE, VersionBundleSchema, VersionRecordSchema, VersionStatusSchema } from '../../schemas/index.js';
import { auditTail, ADMIN_TOKEN, ORIGIN, WRITERS, harness, manifestOf, provider, publishReq, realTools, signed, snapshot, type Harness } from './helpers.js';

describe('reading', () => {
  let h: Harness;
  let acme: Awaited<ReturnType<typeof provider>>;
  let globex: Awaited<ReturnType<typeof provider>>;
  const tools = realTools('everything');
  const def = tools[0]!;
  const base = `/v1/tools/com.acme/${def.name}/versions`;
  beforeAll(async () => {
    h = await harness();
    acme = await provider(h, 'com.acme');
    globex = await provider(h, 'com.globex');
    for (const d of tools) expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', d, '1.0.0')))).status).toBe(201);
    await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.2.0', { permissions: ['files:read', 'net:fetch'] })));
  });
  afterAll(() => h.close());

  describe('when listing tools', () => {
    it('pages with an opaque cursor until the last page', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await request(h.app).get('/v1/tools').query({ limit: 4, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i: { toolId: string }) => i.toolId));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...tools.map((t) => `com.acme/${t.name}`)].sort());
    });
    it('searches tool ids and descriptions', async () => {
      const res = await request(h.app).get('/v1/tools').query({ q: def.name });
      expect(res.body.items.map((i: { toolId: string }) => i.toolId)).toContain(`com.acme/${def.name}`);
      const none = await request(h.app).get('/v1/tools').query({ q: '%_nothing%' });
      expect(none.body.items).toEqual([]);
    });
    it.each([['limit 0', { limit: 0 }], ['limit 1000', { limit: 1000 }], ['forged cursor', { cursor: '!!' }]])('refuses %s', async (_n, q) => {
      const res = await request(h.app).get('/v1/tools').query(q);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('BAD_REQUEST');
    });
  });

  describe('when fetching a version record', () => {
    it('serves it with a strong ETag, immutable caching, and 304 on If-None-Match', async () => {
      const res = await request(h.app).get(`${base}/1.0.0`);
      expect(res.status).toBe(200);
      const record = VersionRecordSchema.parse(res.body);
      expect(res.headers.etag).toBe(`"${record.manifestDigest}"`);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const again = await request(h.app).get(`${base}/1.0.0`).set('If-None-Match', res.headers.etag!);
      expect(again.status).toBe(304);
    });
    it('serves latest without immutable caching', async () => {
      const res = await request(h.app).get(`${base}/latest`);
      expect(res.body.version).toBe('1.2.0');
      expect(res.headers['cache-control']).not.toMatch(/immutable/);
    });
    it('lists versions newest first', async () => {
      const res = await request(h.app).get(base);
      expect(res.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.2.0', '1.0.0']);
    });
    it('lists only the versions that publish a definition digest (which version an uncarried server lists)', async () => {
      const same = await request(h.app).get(base).query({ definitionDigest: digestOf(def) });
      expect(same.status).toBe(200);
      expect(same.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.2.0', '1.0.0']);
      const none = await request(h.app).get(base).query({ definitionDigest: digestOf(tools[1]) });
      expect(none.body).toEqual({ toolId: `com.acme/${def.name}`, versions: [] });
    });
    it.each([
      ['not a digest', 'sha256:abc'],
      ['upper-case hex', `sha256:${'A'.repeat(64)}`],
      ['given twice', ['sha256:' + '0'.repeat(64), 'sha256:' + '1'.repeat(64)]],
    ])('refuses a definitionDigest filter that is %s (400 BAD_REQUEST)', async (_n, digest) => {
      const res = await request(h.app).get(base).query({ definitionDigest: digest });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('BAD_REQUEST');
    });
    it.each([
      ['unknown tool', '/v1/tools/com.acme/nope/versions/1.0.0', 'TOOL_NOT_FOUND'],
      ['unknown version', `${base}/9.9.9`, 'VERSION_NOT_FOUND'],
      ['unknown namespace', '/v1/namespaces/com.nope', 'NAMESPACE_NOT_FOUND'],
    ])('answers 404 for an %s', async (_n, path, code) => {
      const res = await request(h.app).get(path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(code);
    });
  });

  describe('when fetching status and bundle', () => {
    it('serves an attestation that verifies against the JWKS and binds the manifest', async () => {
      const res = await request(h.app).get(`${base}/1.2.0/status`);
      const status = VersionStatusSchema.parse(res.body);
      expect(res.headers['cache-control']).toBe('public, max-age=30');
      const jwks = createLocalJWKSet((await request(h.app).get('/.well-known/jwks.json')).body);
      const { payload, protectedHeader } = await jwtVerify(status.attestation, jwks, { issuer: ORIGIN, audience: 'etdi-clients', algorithms: ['EdDSA'], typ: ATTESTATION_JWT_TYPE });
      const record = (await request(h.app).get(`${base}/1.2.0`)).body;
      expect(protectedHeader.kid).toBeDefined();
      expect(payload).toMatchObject({
        sub: `com.acme/${def.name}`,
        tool_version: '1.2.0',
        provider: 'com.acme',
        definition_digest: record.definitionDigest,
        manifest_digest: record.manifestDigest,
        scope: 'files:read net:fetch',
        log_index: record.leafIndex,
      });
      expect(payload.exp! - payload.iat!).toBe(600);
      expect(status.log.inclusionProof.leafIndex).toBe(record.leafIndex);
      expect(status.log.checkpoint.split('\n')[0]).toBe('registry.test/log');
    });
    it('serves a bundle holding the record bytes and the status', async () => {
      const res = await request(h.app).get(`${base}/1.0.0/bundle`);
      const bundle = VersionBundleSchema.parse(res.body);
      expect(bundle.record).toEqual((await request(h.app).get(`${base}/1.0.0`)).body);
    });
  });

  describe('when a version is revoked', () => {
    it('the provider revokes with a reason: status revoked, no attestation, one log leaf', async () => {
      const before = await snapshot(h);
      const res = await request(h.app).post(`${base}/1.0.0/revoke`).set('Authorization', `Bearer ${acme.token}`).send({ reason: 'CVE-2026-0001' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'revoked', revocation: { reason: 'CVE-2026-0001', by: `key:${acme.key.keyId}` }, attestation: '' });
      expect((await snapshot(h)).logSize).toBe(before.logSize + 1);
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ kind: 'version.revoked', reason: 'CVE-2026-0001' });
      const listed = await request(h.app).get(base);
      expect(listed.body.versions[1]).toMatchObject({ version: '1.0.0', status: 'revoked' });
    });
    it('an administrator revokes too', async () => {
      const res = await request(h.app).post(`/v1/tools/com.acme/${tools[1]!.name}/versions/1.0.0/revoke`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ reason: 'malware' });
      expect(res.status).toBe(200);
      expect(res.body.revocation.by).toBe('admin:config');
    });
    it.each([
      ['without a reason', () => acme.token, {}, 422, 'SCHEMA_INVALID'],
      ['with an empty reason', () => acme.token, { reason: '' }, 422, 'SCHEMA_INVALID'],
      ['by another namespace', () => globex.token, { reason: 'grief' }, 403, 'FORBIDDEN'],
      ['anonymously', () => '', { reason: 'x' }, 401, 'UNAUTHENTICATED'],
    ])('refuses a revocation %s, store and log unchanged', async (_n, token, body, status, code) => {
      const before = await snapshot(h);
      let req = request(h.app).post(`${base}/1.2.0/revoke`);
      if (token()) req = req.set('Authorization', `Bearer ${token()}`);
      const res = await req.send(body);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(await snapshot(h)).toEqual(before);
    });
    it('refuses revoking twice', async () => {
      const res = await request(h.app).post(`${base}/1.0.0/revoke`).set('Authorization', `Bearer ${acme.token}`).send({ reason: 'again' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('VERSION_ALREADY_REVOKED');
    });
  });

  describe('when the registry key is rotated', () => {
    it('signs with the new key and keeps the old one in the JWKS so earlier tokens still verify', async () => {
      const old = (await request(h.app).get(`${base}/1.2.0/status`)).body.attestation as string;
      const res = await request(h.app).post('/v1/admin/registry-keys/rotate').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      expect(res.status).toBe(200);
      const jwks = (await request(h.app).get('/.well-known/jwks.json')).body;
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([res.body.kid, ...res.body.previous]));
      const fresh = (await request(h.app).get(`${base}/1.2.0/status`)).body.attestation as string;
      const set = createLocalJWKSet(jwks);
      const a = await jwtVerify(old, set, { issuer: ORIGIN, audience: 'etdi-clients' });
      const b = await jwtVerify(fresh, set, { issuer: ORIGIN, audience: 'etdi-clients' });
      expect(a.protectedHeader.kid).not.toBe(b.protectedHeader.kid);
      expect(b.protectedHeader.kid).toBe(res.body.kid);
      // an old publisher token still works
      expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.3.0')))).status).toBe(201);
    });
    it('drops the old key from the JWKS once its tokens have expired', async () => {
      h.clock.now += 3600_000;
      const jwks = (await request(h.app).get('/.well-known/jwks.json')).body;
      expect(jwks.keys).toHaveLength(1);
      h.clock.now -= 3600_000;
    });
    it('refuses rotation by a publisher', async () => {
      const res = await request(h.app).post('/v1/admin/registry-keys/rotate').set('Authorization', `Bearer ${globex.token}`);
      expect(res.status).toBe(403);
    });
  });
});

describe.each(WRITERS)('rotating the registry key while publishes commit (%s)', (_name, writer) => {
  it('is one job of the write queue: every publish and the rotation succeed, and what is signed after its answer carries the new key', async () => {
    const h = await harness(writer());
    try {
      const acme = await provider(h, 'com.acme');
      const tools = realTools('everything');
      const queue = h.app.registry.ctx.queue.stats;
      const jobsBefore = queue.jobs;
      const publishes = tools.map(async (d) => publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', d, '1.0.0'))));
      const rotation = request(h.app).post('/v1/admin/registry-keys/rotate').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      const [rotated, ...published] = await Promise.all([rotation, ...publishes]);
      expect(published.map((r) => r.status)).toEqual(tools.map(() => 201));
      expect(rotated.status).toBe(200);
      expect(queue.jobs - jobsBefore).toBe(tools.length + 1);
      const status = await request(h.app).get(`/v1/tools/com.acme/${tools[0]!.name}/versions/1.0.0/status`);
      const jwks = createLocalJWKSet((await request(h.app).get('/.well-known/jwks.json')).body);
      const { protectedHeader } = await jwtVerify(status.body.attestation as string, jwks, { issuer: ORIGIN, audience: 'etdi-clients' });
      expect(protectedHeader.kid).toBe(rotated.body.kid);
    } finally {
      await h.close();
    }
  });
});
