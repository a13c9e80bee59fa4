/**
 * POST /v1/declarations: a SEP-3140 server's signed capability manifest published to the
 * registry, one case per attack of docs/THREAT-MODEL.md ("SEP-3140 publishes"). Real keys, the
 * real store under test (SQLite, and PostgreSQL in the second project), HTTP through the app.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize, contentHashOf, declarationEntryDigest, digestOfContentHash, generateKeyPair, signDeclarationsManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import type { DeclarationsManifest, SignedDeclarationsManifest, ToolDefinition } from '../../schemas/index.js';
import { fsckRegistry } from '../../registry/store/fsck.js';
import { ADMIN_TOKEN, auditTail, harness, provider, realTools, snapshot, WRITERS, type Harness } from './helpers.js';

const PUBLISHER = 'https://tools.acme.com/mcp-publisher.json';
const NAMESPACE = 'com.acme.tools';
const SERVER = 'https://tools.acme.com/mcp';
const KID = 'acme-2026';

/** A declaration: the MCP tool with SEP-3140's version, trust labels and contentHash. */
function declare(tool: ToolDefinition, version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const declaration: Record<string, unknown> = { ...tool, version, trust: { effect: 'read-only', egress: 'none' }, ...extra };
  return { ...declaration, contentHash: contentHashOf(declaration) };
}

interface Publish {
  signed: SignedDeclarationsManifest;
  declarations: Record<string, unknown>[];
  signingKey?: unknown;
}

// all tools or none, whichever connection our own publishes commit on (services/write-queue.ts)
describe.each(WRITERS)('SEP-3140 publishes (POST /v1/declarations), our publishes on the %s', (_writer, writerConfig) => {
  let h: Harness;
  let acme: { key: GeneratedKeyPair; token: string };
  let globex: { key: GeneratedKeyPair; token: string };
  const [readFile, listDir, writeFile] = realTools('filesystem');

  /** The manifest over these declarations, signed by `key` under `kid`, with the JWKS entry. */
  async function publishOf(declarations: Record<string, unknown>[], key = acme.key, overrides: Partial<DeclarationsManifest> = {}, kid = KID): Promise<Publish> {
    const now = h.clock.now;
    const manifest: DeclarationsManifest = {
      server: SERVER,
      publisher: PUBLISHER,
      specVersion: '2026-07-27',
      issuedAt: new Date(now - 1000).toISOString(),
      expiresAt: new Date(now + 3600_000).toISOString(),
      nonce: `n-${Math.random()}`,
      tools: declarations.map((d) => ({ name: String(d.name), version: String(d.version), contentHash: String(d.contentHash) })),
      ...overrides,
    };
    const signed = await signDeclarationsManifest(manifest, key.privateJwk, kid);
    return { signed, declarations, signingKey: { ...key.publicJwk, kid } };
  }

  const post = (token: string | undefined, body: unknown): request.Test => {
    const req = request(h.app).post('/v1/declarations').set('Content-Type', 'application/json');
    if (token !== undefined) req.set('Authorization', `Bearer ${token}`);
    return req.send(JSON.stringify(body));
  };

  beforeAll(async () => {
    h = await harness(writerConfig());
    acme = await provider(h, NAMESPACE);
    globex = await provider(h, 'com.globex');
  });
  afterAll(() => h.close());

  describe('an honest server publishes its manifest', () => {
    let body: Publish;
    beforeAll(async () => {
      body = await publishOf([declare(readFile!, '1'), declare(listDir!, '1.2.0')]);
    });

    it('stores every tool as a version, one log leaf each, with the digests a host pins', async () => {
      const before = await snapshot(h);
      const res = await post(acme.token, body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.provider).toBe(NAMESPACE);
      const [first, second] = body.signed.manifest.tools;
      expect(res.body.tools).toEqual([
        expect.objectContaining({ toolId: `${NAMESPACE}/${first!.name}`, version: '1.0.0', created: true, definitionDigest: digestOfContentHash(first!.contentHash), manifestDigest: declarationEntryDigest(PUBLISHER, first!) }),
        expect.objectContaining({ toolId: `${NAMESPACE}/${second!.name}`, version: '1.2.0', created: true, definitionDigest: digestOfContentHash(second!.contentHash) }),
      ]);
      const after = await snapshot(h);
      expect(after.counts.versions).toBe(before.counts.versions + 2);
      expect(after.logSize).toBe(before.logSize + 2);
      const leaves = await auditTail(h, 2);
      expect(leaves.map((l) => l.event).reverse()).toEqual([
        expect.objectContaining({ kind: 'version.published', toolId: `${NAMESPACE}/${first!.name}`, signerKeyId: acme.key.keyId, manifestDigest: declarationEntryDigest(PUBLISHER, first!) }),
        expect.objectContaining({ kind: 'version.published', toolId: `${NAMESPACE}/${second!.name}`, version: '1.2.0' }),
      ]);
      expect((await fsckRegistry(h.store)).ok).toBe(true);
    });

    it('serves each tool as a record with its signed declaration, and a bundle with an attestation', async () => {
      const toolId = `${NAMESPACE}/${readFile!.name}`;
      const record = await request(h.app).get(`/v1/tools/${toolId}/versions/1.0.0`);
      expect(record.status).toBe(200);
      expect(record.body.signedManifest).toBeUndefined();
      expect(canonicalize(record.body.signedDeclaration)).toBe(canonicalize({ ...body.signed, declaration: body.declarations[0] }));
      expect(record.body.signerKeyId).toBe(acme.key.keyId);
      const bundle = await request(h.app).get(`/v1/tools/${toolId}/versions/1.0.0/bundle`);
      expect(bundle.status).toBe(200);
      expect(bundle.body.status).toMatchObject({ status: 'active', signerKey: { keyId: acme.key.keyId } });
      expect(bundle.body.status.attestation).toMatch(/^ey/);
      const set = await request(h.app).post('/v1/bundles').set('Content-Type', 'application/json').send({ versions: [{ toolId, version: 'latest' }] });
      expect(set.body.bundles[0].record.signedDeclaration.declaration.name).toBe(readFile!.name);
    });

    it('answers the same declarations under a re-issued manifest (new nonce and window) with 200, storing nothing', async () => {
      const before = await snapshot(h);
      const res = await post(acme.token, await publishOf(body.declarations));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.tools.map((t: { created: boolean }) => t.created)).toEqual([false, false]);
      expect(await snapshot(h)).toEqual(before);
    });

    it('accepts a kid that is the key thumbprint without the JWKS entry', async () => {
      const res = await post(acme.token, { ...(await publishOf([declare(writeFile!, '1')], acme.key, {}, acme.key.keyId)), signingKey: undefined });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    });
  });

  describe('a hostile or broken publish is refused and leaves the store and the log as they were', () => {
    const cases: [string, () => Promise<{ token?: string; body: unknown }>, number, string][] = [
      ['same version, changed description (rug pull at the source)', async () => ({
        body: await publishOf([declare({ ...readFile!, description: 'now also uploads the file' }, '1')]),
      }), 409, 'VERSION_EXISTS'],
      ['a lower version (rollback)', async () => ({ body: await publishOf([declare(listDir!, '1.1.0')]) }), 409, 'VERSION_NOT_HIGHER'],
      ['one good tool and one rollback: all or nothing', async () => ({
        body: await publishOf([declare({ ...readFile!, description: 'v2' }, '2'), declare(listDir!, '1.0.0')]),
      }), 409, 'VERSION_NOT_HIGHER'],
      ['a declaration changed after signing (its hash is not the signed one)', async () => {
        const p = await publishOf([declare(readFile!, '3')]);
        return { body: { ...p, declarations: [{ ...p.declarations[0], description: 'swapped after signing' }] } };
      }, 409, 'DEFINITION_MISMATCH'],
      ['a declaration whose contentHash was recomputed after signing', async () => {
        const p = await publishOf([declare(readFile!, '3')]);
        return { body: { ...p, declarations: [declare({ ...readFile!, description: 'swapped' }, '3')] } };
      }, 409, 'DEFINITION_MISMATCH'],
      ['the manifest changed after signing (a tool added)', async () => {
        const p = await publishOf([declare(readFile!, '3')]);
        const extra = declare({ ...listDir!, name: 'exfiltrate' }, '1');
        const tools = [...p.signed.manifest.tools, { name: 'exfiltrate', version: '1', contentHash: String(extra.contentHash) }];
        return { body: { ...p, signed: { ...p.signed, manifest: { ...p.signed.manifest, tools } }, declarations: [...p.declarations, extra] } };
      }, 422, 'BAD_SIGNATURE'],
      ['signed by a key the namespace never registered', async () => ({ body: await publishOf([declare(readFile!, '3')], generateKeyPair()) }), 403, 'UNTRUSTED_SIGNER'],
      ['a kid that is no registered thumbprint, without signingKey', async () => ({
        body: { ...(await publishOf([declare(readFile!, '3')])), signingKey: undefined },
      }), 403, 'UNTRUSTED_SIGNER'],
      ['a signingKey that is not the key the kid names', async () => {
        const p = await publishOf([declare(readFile!, '3')]);
        return { body: { ...p, signingKey: { ...acme.key.publicJwk, kid: 'another-kid' } } };
      }, 403, 'UNTRUSTED_SIGNER'],
      ['an expired manifest', async () => ({
        body: await publishOf([declare(readFile!, '3')], acme.key, { issuedAt: new Date(h.clock.now - 7200_000).toISOString(), expiresAt: new Date(h.clock.now - 3600_000).toISOString() }),
      }), 422, 'MANIFEST_EXPIRED'],
      ['a manifest issued in the future', async () => ({
        body: await publishOf([declare(readFile!, '3')], acme.key, { issuedAt: new Date(h.clock.now + 3600_000).toISOString(), expiresAt: new Date(h.clock.now + 7200_000).toISOString() }),
      }), 422, 'ISSUED_IN_FUTURE'],
      ['a publisher of another namespace (squatting with a valid token)', async () => ({ token: globex.token, body: await publishOf([declare(readFile!, '3')]) }), 403, 'NAMESPACE_MISMATCH'],
      ['a publisher URI of an unregistered domain (even for an administrator)', async () => ({
        token: ADMIN_TOKEN,
        body: await publishOf([declare(readFile!, '3')], acme.key, { publisher: 'https://unregistered.example/p.json' }),
      }), 404, 'NAMESPACE_NOT_FOUND'],
      ['a publisher URI whose host is an address', async () => ({
        body: await publishOf([declare(readFile!, '3')], acme.key, { publisher: 'https://127.0.0.1/p.json' }),
      }), 422, 'SCHEMA_INVALID'],
      ['a trust label outside the vocabulary', async () => ({
        body: await publishOf([declare(readFile!, '3', { trust: { effect: 'mostly-harmless' } })]),
      }), 422, 'UNKNOWN_TRUST_LABEL'],
      ['a listed tool without its declaration', async () => {
        const p = await publishOf([declare(readFile!, '3'), declare(listDir!, '2')]);
        return { body: { ...p, declarations: [p.declarations[0]] } };
      }, 422, 'SCHEMA_INVALID'],
      ['a declaration that is not an MCP tool (no inputSchema)', async () => {
        const { inputSchema: _dropped, ...rest } = readFile!;
        return { body: await publishOf([declare(rest as ToolDefinition, '3')]) };
      }, 422, 'SCHEMA_INVALID'],
      ['no publisher token', async () => ({ token: '', body: await publishOf([declare(readFile!, '3')]) }), 401, 'UNAUTHENTICATED'],
    ];

    it.each(cases)('%s', async (_name, make, status, code) => {
      const { token, body } = await make();
      const before = await snapshot(h);
      const res = await post(token === '' ? undefined : (token ?? acme.token), body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.code).toBe(code);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await snapshot(h)).toEqual(before);
    });

    it('a body over the declarations limit is refused (413) before it is parsed', async () => {
      const res = await post(acme.token, { padding: 'x'.repeat(1024 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });

  describe('the log, revocation and audit reach a SEP-3140 tool', () => {
    it('a revoked version is served revoked, with no attestation', async () => {
      const toolId = `${NAMESPACE}/${writeFile!.name}`;
      const res = await request(h.app)
        .post(`/v1/tools/${toolId}/versions/1.0.0/revoke`)
        .set('Authorization', `Bearer ${acme.token}`)
        .send({ reason: 'writes outside the allowed directories' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const bundle = await request(h.app).get(`/v1/tools/${toolId}/versions/1.0.0/bundle`);
      expect(bundle.body.status).toMatchObject({ status: 'revoked', attestation: '', revocation: { reason: 'writes outside the allowed directories' } });
    });

    it('revoking the signing key voids the versions it signed after the revocation time', async () => {
      const rotated = await publishOf([declare({ ...readFile!, description: 'v4' }, '4')]);
      expect((await post(acme.token, rotated)).status).toBe(201);
      const res = await request(h.app)
        .post(`/v1/namespaces/${NAMESPACE}/keys/${acme.key.keyId}/revoke`)
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .set('Content-Type', 'application/json')
        .send({ revokedFrom: new Date(h.clock.now - 60_000).toISOString(), reason: 'key leaked' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const bundle = await request(h.app).get(`/v1/tools/${NAMESPACE}/${readFile!.name}/versions/4.0.0/bundle`);
      expect(bundle.body.status).toMatchObject({ status: 'revoked', attestation: '' });
      expect((await fsckRegistry(h.store)).ok).toBe(true);
    });

    it('fsck finds a stored declaration rewritten in the database, though its digest columns were left alone', async () => {
      expect((await fsckRegistry(h.store)).ok).toBe(true);
      const changed = await h.sql(`UPDATE versions SET signed_manifest = replace(signed_manifest, '"description":"', '"description":"Also uploads your files. ') WHERE tool_id = '${NAMESPACE}/${listDir!.name}'`);
      expect(changed).toBe(1);
      const report = await fsckRegistry(h.store);
      expect(report.ok).toBe(false);
      expect(report.problems.map((p) => p.message).join('\n')).toContain(`the stored manifest of ${NAMESPACE}/${listDir!.name}@1.2.0 is not the one leaf`);
    });
  });
});
