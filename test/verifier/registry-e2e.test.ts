import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../protocol/index.js';
import { Ed25519PublicJwkSchema, MANIFEST_META_KEY } from '../../schemas/index.js';
import type { Lockfile } from '../../schemas/index.js';
import { RegistryClient, ToolVerifier, VerificationError, createLogChecker, type TrustRootConfig } from '../../client-verifier/index.js';
import { ORIGIN, startRegistry, type RunningRegistry } from './support/real-registry.js';
import { clone, realTools } from './support/setup.js';

let registry: RunningRegistry;
let trust: TrustRootConfig;
let acme: { key: import('../../protocol/index.js').GeneratedKeyPair; token: string };
const [base] = realTools('filesystem') as [Record<string, unknown>];

beforeAll(async () => {
  registry = await startRegistry();
  acme = await registry.register('com.acme');
  // Out of band in real life: the host pins the registry's key ids and its log key.
  const jwks = await new RegistryClient({ baseUrl: registry.url }).getJwks();
  const keys = jwks.keys.map((k) => Ed25519PublicJwkSchema.parse(k));
  trust = { issuer: ORIGIN, audience: 'etdi-clients', jwks, pinnedKeyIds: keys.map((k) => jwkThumbprint(k)), logKey: registry.log.verifierKey() };
});
afterAll(async () => {
  await registry.close();
});

async function online(lockfile?: Lockfile): Promise<ToolVerifier> {
  const client = new RegistryClient({ baseUrl: registry.url, timeoutMs: 2000 });
  const log = await createLogChecker({ logKey: trust.logKey, registry: client, ...(lockfile?.checkpoint ? { checkpoint: lockfile.checkpoint } : {}) });
  return new ToolVerifier({ trustRoot: trust, log, registry: client, ...(lockfile ? { lockfile } : {}) });
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof VerificationError ? e.code : `untyped: ${String(e)}`),
  );

describe('ToolVerifier against the real registry over HTTP', () => {
  it('resolves an uncarried tool by provider and name, verifies the served bundle, and pins it', async () => {
    const def = { ...clone(base), name: 'e2e_read' };
    await registry.publish(acme.token, acme.key, 'com.acme', def, '1.0.0', ['files:read']);
    const v = await online();
    const t = await v.verify(clone(def), { provider: 'com.acme' });
    expect(t).toMatchObject({ toolId: 'com.acme/e2e_read', version: '1.0.0', manifestSource: 'registry', decision: { code: 'NEEDS_APPROVAL' } });
    await v.approve(t);
    expect((await v.check(clone(def), { provider: 'com.acme' })).decision.status).toBe('approved');
  });

  it('advances its checkpoint with the registry consistency proofs and refuses a revoked version', async () => {
    const def = { ...clone(base), name: 'e2e_revoked' };
    const signed = await registry.publish(acme.token, acme.key, 'com.acme', def, '1.0.0', []);
    const first = await online();
    await first.verify({ ...clone(def), _meta: { [MANIFEST_META_KEY]: signed } });
    const before = first.lockfile.checkpoint!.treeSize;
    await registry.revokeVersion('com.acme/e2e_revoked', '1.0.0');
    const second = await online(first.lockfile);
    expect(await codeOf(second.verify({ ...clone(def), _meta: { [MANIFEST_META_KEY]: signed } }))).toBe('REVOKED');
    // a newer tool verifies against a larger tree, proven consistent with the stored checkpoint
    const other = { ...clone(base), name: 'e2e_after' };
    await registry.publish(acme.token, acme.key, 'com.acme', other, '1.0.0', []);
    await second.verify(clone(other), { provider: 'com.acme' });
    expect(second.lockfile.checkpoint!.treeSize).toBeGreaterThan(before);
  });

  it('needs re-approval when a newer published version adds a permission', async () => {
    const def = { ...clone(base), name: 'e2e_grow' };
    await registry.publish(acme.token, acme.key, 'com.acme', def, '1.0.0', ['files:read']);
    const v = await online();
    await v.approve(await v.verify(clone(def), { provider: 'com.acme' }));
    const grown = { ...clone(def), description: 'Read and write files' };
    await registry.publish(acme.token, acme.key, 'com.acme', grown, '1.1.0', ['files:read', 'files:write']);
    const t = await v.verify(clone(grown), { provider: 'com.acme' });
    expect(t.decision).toMatchObject({ code: 'PERMISSION_ESCALATION', grew: ['permission files:write added'] });
    // the server still serving the pinned version is matched to the pinned bundle, not flagged
    expect((await v.verify(clone(def), { provider: 'com.acme' })).decision.status).toBe('approved');
  });

  it('names a server that went back to an older version without carrying its manifest ROLLBACK, finding that version by its digest', async () => {
    const def = { ...clone(base), name: 'e2e_rollback' };
    await registry.publish(acme.token, acme.key, 'com.acme', def, '1.0.0', ['files:read']);
    const fixed = { ...clone(def), description: 'Read files (fixed)' };
    await registry.publish(acme.token, acme.key, 'com.acme', fixed, '1.1.0', ['files:read']);
    const v = await online();
    await v.approve(await v.verify(clone(fixed), { provider: 'com.acme' }));
    const later = await online(v.lockfile);
    const error = await later.verify(clone(def), { provider: 'com.acme' }).then(
      () => undefined,
      (e: unknown) => e as VerificationError,
    );
    expect(error).toMatchObject({ code: 'ROLLBACK', evidence: { expected: '>= 1.1.0', got: '1.0.0' } });
    // a definition the registry never published is still a changed tool
    expect(await codeOf(later.verify({ ...clone(fixed), description: 'Read files and send them away' }, { provider: 'com.acme' }))).toBe('RUG_PULL');
  });

  it('proves the logged leaf of a version an administrator published, online and offline (the record names its publisher)', async () => {
    const def = { ...clone(base), name: 'e2e_admin' };
    await registry.publish('admin', acme.key, 'com.acme', def, '1.0.0', []);
    const t = await (await online()).verify(clone(def), { provider: 'com.acme' });
    expect(t.decision).toMatchObject({ code: 'NEEDS_APPROVAL' });
    const bundle = await new RegistryClient({ baseUrl: registry.url }).getBundle('com.acme/e2e_admin', '1.0.0');
    expect(bundle.record.publishedBy).toMatch(/^admin/);
    const offline = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey }), bundles: [bundle] });
    expect((await offline.verify(clone(def), { provider: 'com.acme' })).decision).toMatchObject({ code: 'NEEDS_APPROVAL' });
    // a record that names another publisher than the logged event is not the logged record
    const forged = { ...bundle, record: { ...bundle.record, publishedBy: `key:${acme.key.keyId}` } };
    const refused = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey }), bundles: [forged] });
    expect(await codeOf(refused.verify(clone(def), { provider: 'com.acme' }))).toBe('NOT_LOGGED');
  });

  it('a bundle fetched online verifies later with no network', async () => {
    const def = { ...clone(base), name: 'e2e_offline' };
    await registry.publish(acme.token, acme.key, 'com.acme', def, '1.0.0', []);
    const bundle = await new RegistryClient({ baseUrl: registry.url }).getBundle('com.acme/e2e_offline', '1.0.0');
    const log = await createLogChecker({ logKey: trust.logKey });
    const offline = new ToolVerifier({ trustRoot: trust, log, bundles: [bundle] });
    expect((await offline.verify(clone(def), { provider: 'com.acme' })).manifestSource).toBe('bundle');
  });

  // The registry (status, versions list, `latest`) and the client (KEY_REVOKED) apply one rule
  // (protocol/key-revocation.ts): one table of revocation times, both paths, the same answer.
  describe.each([
    ['revoked from before issuedAt', '2020-06-01T00:00:00Z', () => '2000-01-01T00:00:00Z', 'void'],
    ['issuedAt back-dated, revoked from after it but before the publication', '2020-06-01T00:00:00Z', () => '2024-01-01T00:00:00Z', 'void'],
    ['revoked from after the publication', '2020-06-01T00:00:00Z', (publishedAt: string) => new Date(Date.parse(publishedAt) + 1).toISOString(), 'valid'],
  ] as const)('when the signer key is %s', (name, issuedAt, revokedFrom, expected) => {
    it(`the registry and the client agree: the signature is ${expected}`, async () => {
      const ns = `net.agree${name.length}`;
      const p = await registry.register(ns);
      const def = { ...clone(base), name: 'agree' };
      await registry.publish(p.token, p.key, ns, def, '1.0.0', [], issuedAt);
      const client = new RegistryClient({ baseUrl: registry.url });
      const record = (await client.getBundle(`${ns}/agree`, '1.0.0')).record;
      await registry.revokeKey(ns, p.key.keyId, revokedFrom(record.publishedAt));
      await new Promise((r) => setTimeout(r, 5)); // revokedFrom (publication + 1 ms) is now in the past
      const status = (await client.getBundle(`${ns}/agree`, '1.0.0')).status;
      expect(status.signerKey.status).toBe('revoked');
      const clientCode = await codeOf((await online()).verify(clone(def), { provider: ns }));
      if (expected === 'void') {
        expect(status.status).toBe('revoked');
        expect(clientCode).toBe('KEY_REVOKED');
      } else {
        expect(status.status).toBe('active');
        expect(clientCode).toBeUndefined();
      }
    });
  });

  it('refuses a version signed by a key revoked before it was issued', async () => {
    const ns = await registry.register('net.compromised');
    const def = { ...clone(base), name: 'e2e_key' };
    await registry.publish(ns.token, ns.key, 'net.compromised', def, '1.0.0', []);
    await registry.revokeKey('net.compromised', ns.key.keyId, '2000-01-01T00:00:00Z');
    const v = await online();
    expect(await codeOf(v.verify(clone(def), { provider: 'net.compromised' }))).toBe('KEY_REVOKED');
  });
});
