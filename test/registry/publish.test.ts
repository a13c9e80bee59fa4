import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize, signManifest } from '../../protocol/index.js';
import type { SignedManifest } from '../../schemas/index.js';
import { auditTail, ADMIN_TOKEN, harness, manifestOf, provider, publishReq, realTools, signed, snapshot, WRITERS, type Harness } from './helpers.js';

// every rule holds whichever connection the publishes commit on (services/write-queue.ts)
describe.each(WRITERS)('publish, committed on the %s', (_writer, writerConfig) => {
  let h: Harness;
  let acme: Awaited<ReturnType<typeof provider>>;
  let globex: Awaited<ReturnType<typeof provider>>;
  const tools = realTools('filesystem');
  const def = tools[0]!;
  let v1: SignedManifest;
  beforeAll(async () => {
    h = await harness(writerConfig());
    acme = await provider(h, 'com.acme');
    globex = await provider(h, 'com.globex');
    v1 = await signed(acme.key, manifestOf('com.acme', def, '1.0.0'));
  });
  afterAll(() => h.close());

  describe('when a valid manifest is published', () => {
    it('stores the version: 201, the record, one audit event and one log leaf', async () => {
      const before = await snapshot(h);
      const res = await publishReq(h, acme.token, v1);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ toolId: `com.acme/${def.name}`, version: '1.0.0', signerKeyId: acme.key.keyId });
      expect(canonicalize(res.body.signedManifest)).toBe(canonicalize(v1));
      expect(res.headers.location).toBe(`/v1/tools/com.acme/${def.name}/versions/1.0.0`);
      const after = await snapshot(h);
      expect(after.counts.versions).toBe(before.counts.versions + 1);
      expect(after.counts.audit).toBe(before.counts.audit + 1);
      expect(after.logSize).toBe(before.logSize + 1);
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ kind: 'version.published', actor: `key:${acme.key.keyId}`, version: '1.0.0' });
    });

    it('answers an identical republish with 200 and the same record, storing nothing', async () => {
      const before = await snapshot(h);
      const first = await request(h.app).get(`/v1/tools/com.acme/${def.name}/versions/1.0.0`);
      const res = await publishReq(h, acme.token, v1);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(first.body);
      expect(await snapshot(h)).toEqual(before);
    });

    it('accepts a higher version', async () => {
      const res = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.1.0')));
      expect(res.status).toBe(201);
    });
  });

  describe('when the publish is refused', () => {
    const cases: [string, () => Promise<{ body: unknown; token?: string | null }>, number, string][] = [
      ['same version, different content (rug pull at the source)', async () => ({
        body: await signed(acme.key, manifestOf('com.acme', { ...def, description: 'now exfiltrates' }, '1.0.0')),
      }), 409, 'VERSION_EXISTS'],
      ['lower version (rollback)', async () => ({ body: await signed(acme.key, manifestOf('com.acme', def, '0.9.0')) }), 409, 'VERSION_NOT_HIGHER'],
      ['pre-release below the latest', async () => ({ body: await signed(acme.key, manifestOf('com.acme', def, '1.1.0-rc.1')) }), 409, 'VERSION_NOT_HIGHER'],
      ['duplicate JSON key (parser differential)', async () => {
        const text = JSON.stringify(await signed(acme.key, manifestOf('com.acme', def, '2.0.0')));
        return { body: text.replace('{"manifest":', '{"signatures":[],"manifest":') };
      }, 400, 'DUPLICATE_KEY'],
      ['not JSON', async () => ({ body: '{"manifest":' }), 400, 'INVALID_JSON'],
      ['schema violation (unknown member)', async () => ({ body: { ...(await signed(acme.key, manifestOf('com.acme', def, '2.0.0'))), extra: 1 } }), 422, 'SCHEMA_INVALID'],
      ['tampered definition (signature no longer verifies)', async () => {
        const sm = await signed(acme.key, manifestOf('com.acme', def, '2.0.0'));
        return { body: { ...sm, manifest: { ...sm.manifest, definition: { ...sm.manifest.definition, description: 'evil' } } } };
      }, 422, 'BAD_SIGNATURE'],
      ['signed by a key of another namespace (impersonation)', async () => ({ body: await signed(globex.key, manifestOf('com.acme', def, '2.0.0')) }), 403, 'UNTRUSTED_SIGNER'],
      ["publisher token of another namespace", async () => ({ body: await signed(acme.key, manifestOf('com.acme', def, '2.0.0')), token: globex.token }), 403, 'NAMESPACE_MISMATCH'],
      ['unregistered namespace', async () => ({ body: await signed(acme.key, manifestOf('com.initech', def, '1.0.0')), token: ADMIN_TOKEN }), 404, 'NAMESPACE_NOT_FOUND'],
      ['no bearer token', async () => ({ body: await signed(acme.key, manifestOf('com.acme', def, '2.0.0')), token: null }), 401, 'UNAUTHENTICATED'],
      ['issuedAt in the future (pre-dating a revocation)', async () => ({
        body: await signed(acme.key, manifestOf('com.acme', def, '2.0.0', { issuedAt: new Date(Date.now() + 86_400_000).toISOString() })),
      }), 422, 'ISSUED_IN_FUTURE'],
      ['invalid Cedar policy', async () => ({
        body: await signed(acme.key, manifestOf('com.acme', def, '2.0.0', { policy: { language: 'cedar', policies: 'permit(principal, action, resource' } })),
      }), 422, 'POLICY_INVALID'],
    ];
    it.each(cases)('refuses %s, store and log unchanged', async (_name, make, status, code) => {
      const { body, token } = await make();
      const before = await snapshot(h);
      const req =
        token === null
          ? request(h.app).post('/v1/tools').set('Content-Type', 'application/json').send(JSON.stringify(body))
          : publishReq(h, token ?? acme.token, body);
      const res = await req;
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.code).toBe(code);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await snapshot(h)).toEqual(before);
    });

    it('lists the Cedar diagnostics in the problem errors', async () => {
      const res = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '3.0.0', { policy: { language: 'cedar', policies: 'permit(principal, action, resource' } })));
      expect(res.body.errors.length).toBeGreaterThan(0);
    });
  });

  describe('when many publishes arrive together (group commit)', () => {
    it('commits them in shared transactions; a refused one does not affect the others', async () => {
      const manifests = await Promise.all(
        tools.slice(1, 13).map((d) => signed(acme.key, manifestOf('com.acme', d, '1.0.0'))),
      );
      const bad = await signManifest(manifestOf('com.acme', tools[1]!, '1.0.0', { permissions: ['files:write'] }), [acme.key.privateJwk]);
      const before = await snapshot(h);
      const batchesBefore = h.app.registry.ctx.queue.stats.batches;
      const results = await Promise.all([...manifests, bad].map((m) => publishReq(h, acme.token, m)));
      const statuses = results.map((r) => r.status);
      expect(statuses.slice(0, 12)).toEqual(Array(12).fill(201));
      expect(results[12]!.body.code).toBe('VERSION_EXISTS'); // same version as manifests[0], other content
      const after = await snapshot(h);
      expect(after.counts.versions).toBe(before.counts.versions + 12);
      expect(after.logSize).toBe(before.logSize + 12);
      expect(h.app.registry.ctx.queue.stats.batches - batchesBefore).toBeLessThan(13);
      expect(h.app.registry.ctx.queue.stats.largestBatch).toBeGreaterThan(1);
      expect(h.app.registry.ctx.queue.stats.writer).toBe(_writer === 'write worker' ? 'worker' : 'main-thread');
    });

    it('sees earlier publishes of the same batch (two versions of one tool at once)', async () => {
      const d = tools[13]!;
      const [a, b] = await Promise.all([
        publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', d, '5.0.0'))),
        publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', d, '5.0.0', { permissions: ['x'] }))),
      ]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
    });
  });

  it('an admin may publish a manifest signed by the namespace key', async () => {
    const res = await publishReq(h, ADMIN_TOKEN, await signed(globex.key, manifestOf('com.globex', def, '1.0.0')));
    expect(res.status).toBe(201);
    expect((await auditTail(h, 1))[0]!.event.actor).toBe('admin:config');
  });
});
