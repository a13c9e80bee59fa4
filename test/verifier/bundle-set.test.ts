/**
 * Bundle sets: many versions under ONE registry attestation (POST /v1/bundles). The real registry
 * over HTTP on 127.0.0.1, the real verifier, real keys. One named case per attack on the set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, importJWK } from 'jose';
import { generateKeyPair, jwkThumbprint } from '../../protocol/index.js';
import {
  ATTESTATION_JWT_TYPE,
  ATTESTATION_SET_JWT_TYPE,
  BundleSetSchema,
  Ed25519PublicJwkSchema,
  MANIFEST_META_KEY,
  MAX_BUNDLE_SET,
  type AttestedVersion,
  type BundleSet,
} from '../../schemas/index.js';
import { RegistryClient, ToolVerifier, VerificationError, createLogChecker, decodeBundleSet, type TrustRootConfig, type ValidatedBundleSet } from '../../client-verifier/index.js';
import { ORIGIN, startRegistry, type RunningRegistry } from './support/real-registry.js';
import { buildServer, connectVerified, listedDefinitions, type ToolSpec } from './support/mcp-servers.js';
import { clone, realTools } from './support/setup.js';
import { attestedVersionOf } from './support/fixture-registry.js';

const AUDIENCE = 'etdi-clients';
let registry: RunningRegistry;
let trust: TrustRootConfig;
let acme: { key: import('../../protocol/index.js').GeneratedKeyPair; token: string };
const [base] = realTools('filesystem') as [Record<string, unknown>];
const tool = (name: string): Record<string, unknown> => ({ ...clone(base), name });
const P = { provider: 'com.acme' };

beforeAll(async () => {
  registry = await startRegistry();
  acme = await registry.register('com.acme');
  const jwks = await new RegistryClient({ baseUrl: registry.url }).getJwks();
  const keys = jwks.keys.map((k) => Ed25519PublicJwkSchema.parse(k));
  trust = { issuer: ORIGIN, audience: AUDIENCE, jwks, pinnedKeyIds: keys.map((k) => jwkThumbprint(k)), logKey: registry.log.verifierKey() };
  for (const name of ['set_a', 'set_b', 'set_c']) await registry.publish(acme.token, acme.key, 'com.acme', tool(name), '1.0.0', ['files:read']);
  await registry.publish(acme.token, acme.key, 'com.acme', tool('set_old'), '1.0.0', []);
  await registry.revokeVersion('com.acme/set_old', '1.0.0');
});
afterAll(async () => {
  await registry.close();
});

/** POSTs to /v1/bundles; returns the status and the parsed body. */
async function postBundles(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${registry.url}/v1/bundles`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A verifier with no registry (offline), optionally another trust root and clock. */
async function offline(options: { trustRoot?: TrustRootConfig; now?: () => Date } = {}): Promise<ToolVerifier> {
  const t = options.trustRoot ?? trust;
  return new ToolVerifier({ trustRoot: t, log: await createLogChecker({ logKey: t.logKey }), ...(options.now ? { now: options.now } : {}) });
}

async function fetchSet(names: string[]): Promise<ValidatedBundleSet> {
  return new RegistryClient({ baseUrl: registry.url }).getBundleSet(names.map((n) => ({ toolId: `com.acme/${n}`, version: 'latest' })));
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof VerificationError ? e.code : `untyped: ${String(e)}`),
  );

/** A set token signed by `key` (pinned in the returned trust root) over the given entries. */
async function mintSet(tools: AttestedVersion[], options: { typ?: string; expSec?: number } = {}): Promise<{ token: string; trustRoot: TrustRootConfig }> {
  const key = generateKeyPair();
  const iat = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ tools })
    .setProtectedHeader({ alg: 'EdDSA', typ: options.typ ?? ATTESTATION_SET_JWT_TYPE, kid: key.keyId })
    .setIssuer(ORIGIN)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.expSec ?? 600))
    .sign(await importJWK(key.privateJwk, 'EdDSA'));
  return { token, trustRoot: { ...trust, jwks: { keys: [key.publicJwk] }, pinnedKeyIds: [key.keyId] } };
}

const entryOf = (set: BundleSet, name: string): AttestedVersion => attestedVersionOf(set.bundles.find((b) => b.record.toolId === `com.acme/${name}`)!.record);

describe('POST /v1/bundles (registry)', () => {
  it('answers every known version, one attestation over the active ones, and lists the unknown ones', async () => {
    const { status, json } = await postBundles({
      versions: [
        { toolId: 'com.acme/set_a', version: 'latest' },
        { toolId: 'com.acme/set_b', version: '1.0.0' },
        { toolId: 'com.acme/set_old', version: '1.0.0' },
        { toolId: 'com.acme/nope', version: 'latest' },
        { toolId: 'com.acme/set_a', version: '9.9.9' },
      ],
    });
    expect(status).toBe(200);
    const set = BundleSetSchema.parse(json);
    expect(set.bundles.map((b) => `${b.record.toolId}@${b.record.version}:${b.status.status}`)).toEqual([
      'com.acme/set_a@1.0.0:active',
      'com.acme/set_b@1.0.0:active',
      'com.acme/set_old@1.0.0:revoked',
    ]);
    // the bundles carry no token of their own: the set's is theirs
    expect(set.bundles.every((b) => b.status.attestation === '')).toBe(true);
    expect(set.latest).toEqual([{ toolId: 'com.acme/set_a', version: '1.0.0' }]);
    expect(set.missing).toEqual([
      { toolId: 'com.acme/nope', version: 'latest', code: 'TOOL_NOT_FOUND' },
      { toolId: 'com.acme/set_a', version: '9.9.9', code: 'VERSION_NOT_FOUND' },
    ]);
    const payload = JSON.parse(Buffer.from(set.attestation.split('.')[1]!, 'base64url').toString()) as { tools: AttestedVersion[] };
    // the revoked version is not attested
    expect(payload.tools.map((t) => t.sub)).toEqual(['com.acme/set_a', 'com.acme/set_b']);
  });

  it('names `latest` and its version once', async () => {
    const { json } = await postBundles({ versions: [{ toolId: 'com.acme/set_a', version: 'latest' }, { toolId: 'com.acme/set_a', version: '1.0.0' }] });
    expect((json.bundles as unknown[]).length).toBe(1);
  });

  it.each([
    ['no versions', { versions: [] }],
    ['more than the maximum', { versions: Array.from({ length: MAX_BUNDLE_SET + 1 }, (_, i) => ({ toolId: `com.acme/t${i}`, version: 'latest' })) }],
    ['a malformed tool id', { versions: [{ toolId: 'not-a-tool-id', version: 'latest' }] }],
    ['a version that is not semver', { versions: [{ toolId: 'com.acme/set_a', version: 'v1' }] }],
    ['an unknown member', { versions: [{ toolId: 'com.acme/set_a', version: 'latest' }], extra: true }],
  ])('refuses %s with 422 SCHEMA_INVALID', async (_name, body) => {
    const { status, json } = await postBundles(body);
    expect(status).toBe(422);
    expect(json.code).toBe('SCHEMA_INVALID');
  });
});

describe('ToolVerifier with bundle sets', () => {
  it('verifies a whole list from one request and one attestation (prefetch), then pins it', async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const client = new RegistryClient({ baseUrl: registry.url, fetch: counting });
    const v = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey, registry: client }), registry: client });
    const live = ['set_a', 'set_b', 'set_c'].map(tool);
    await v.prefetch(live, P);
    const verified = await Promise.all(live.map((d) => v.verify(d, P)));
    expect(requests).toBe(1);
    expect(verified.map((t) => [t.toolId, t.manifestSource, t.decision.status])).toEqual([
      ['com.acme/set_a', 'registry', 'needs-approval'],
      ['com.acme/set_b', 'registry', 'needs-approval'],
      ['com.acme/set_c', 'registry', 'needs-approval'],
    ]);
    await v.approve(verified[0]!);
    expect((await v.check(tool('set_a'), P)).decision.status).toBe('approved');
  });

  it('prefetch uses the version `latest` resolved to, also when the pinned older version comes in the same set', async () => {
    await registry.publish(acme.token, acme.key, 'com.acme', tool('set_up'), '1.0.0', ['files:read']);
    const client = new RegistryClient({ baseUrl: registry.url });
    const v = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey, registry: client }), registry: client });
    await v.approve(await v.verify(tool('set_up'), P));
    const newer = { ...tool('set_up'), description: 'Reads files, now faster' };
    await registry.publish(acme.token, acme.key, 'com.acme', newer, '1.1.0', ['files:read']);
    // a fresh verifier with the lockfile: the set holds latest (1.1.0) and the pinned 1.0.0
    const w = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey, registry: client }), registry: client, lockfile: v.lockfile });
    await w.prefetch([newer], P);
    expect((await w.verify(clone(newer), P)).decision).toMatchObject({ status: 'needs-approval', code: 'NEW_VERSION' });
    // the server still on the pinned version is matched to the pinned bundle of the same set
    await w.prefetch([tool('set_up')], P);
    expect((await w.verify(tool('set_up'), P)).decision.status).toBe('approved');
  });

  it('prefetch still asks for the rest of the list when one tool is already refused by its pin', async () => {
    const old = await registry.publish(acme.token, acme.key, 'com.acme', tool('set_roll'), '1.0.0', []);
    const cur = await registry.publish(acme.token, acme.key, 'com.acme', { ...tool('set_roll'), description: 'v2' }, '1.1.0', []);
    const carrying = (signed: typeof old): Record<string, unknown> => ({ ...clone(signed.manifest.definition), _meta: { [MANIFEST_META_KEY]: clone(signed) } });
    let requests = 0;
    const client = new RegistryClient({
      baseUrl: registry.url,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
    const v = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey, registry: client }), registry: client });
    await v.approve(await v.verify(carrying(cur), P));
    expect(await codeOf(v.verify(carrying(old), P))).toBe('ROLLBACK');
    requests = 0;
    await v.prefetch([carrying(old), tool('set_c')], P);
    expect(requests).toBe(1);
    expect((await v.verify(tool('set_c'), P)).manifestSource).toBe('registry');
    expect(requests).toBe(1);
  });

  it('verifies an offline bundle set file (decodeBundleSet, addBundleSet)', async () => {
    const v = await offline();
    await v.addBundleSet(decodeBundleSet(JSON.stringify(await fetchSet(['set_a', 'set_b']))));
    expect((await v.verify(tool('set_b'), P)).manifestSource).toBe('bundle');
  });

  it('refuses a revoked version served in a set (REVOKED)', async () => {
    const v = await offline();
    await v.addBundleSet(await fetchSet(['set_old']));
    expect(await codeOf(v.verify(tool('set_old'), P))).toBe('REVOKED');
  });

  describe('attacks on the set', () => {
    it('a tampered set attestation is refused when added (ATTESTATION_INVALID), and nothing is added', async () => {
      const set = await fetchSet(['set_a']);
      const [h, p, s] = set.attestation.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { tools: AttestedVersion[] };
      claims.tools[0]!.scope = 'files:read files:write';
      const tampered = { ...set, attestation: `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}` };
      const v = await offline();
      expect(await codeOf(v.addBundleSet(tampered))).toBe('ATTESTATION_INVALID');
      // the set's bundles were not added: the tool has no evidence at all
      expect(await codeOf(v.verify(tool('set_a'), P))).toBe('UNSIGNED');
    });

    it('an expired set is refused (ATTESTATION_INVALID)', async () => {
      const set = await fetchSet(['set_a']);
      const v = await offline({ now: () => new Date(Date.now() + 2 * 24 * 3600_000) });
      expect(await codeOf(v.addBundleSet(set))).toBe('ATTESTATION_INVALID');
    });

    it('a set that expires after it was added no longer vouches (ATTESTATION_INVALID at verify)', async () => {
      const clock = { now: Date.now() };
      const v = await offline({ now: () => new Date(clock.now) });
      await v.addBundleSet(await fetchSet(['set_a']));
      clock.now += 2 * 24 * 3600_000;
      expect(await codeOf(v.verify(tool('set_a'), P))).toBe('ATTESTATION_INVALID');
    });

    it('a per-version token presented as a set is refused (type confusion)', async () => {
      const set = await fetchSet(['set_a']);
      const single = await new RegistryClient({ baseUrl: registry.url }).getBundle('com.acme/set_a', '1.0.0');
      expect(single.status.attestation).not.toBe('');
      expect(await codeOf((await offline()).addBundleSet({ ...set, attestation: single.status.attestation }))).toBe('ATTESTATION_INVALID');
    });

    it('a set token presented as a per-version attestation is refused (type confusion)', async () => {
      const set = await fetchSet(['set_a']);
      const bundle = set.bundles[0]!;
      const v = await offline();
      v.addBundles([{ ...bundle, status: { ...bundle.status, attestation: set.attestation } }]);
      expect(await codeOf(v.verify(tool('set_a'), P))).toBe('ATTESTATION_INVALID');
    });

    it('a bundle the set does not attest is refused (ATTESTATION_INVALID)', async () => {
      const setA = await fetchSet(['set_a']);
      const setB = await fetchSet(['set_b']);
      // set_b's bundle smuggled under set_a's attestation
      const v = await offline();
      await v.addBundleSet({ ...setA, bundles: [...setA.bundles, ...setB.bundles] });
      expect((await v.verify(tool('set_a'), P)).toolId).toBe('com.acme/set_a');
      expect(await codeOf(v.verify(tool('set_b'), P))).toBe('ATTESTATION_INVALID');
    });

    it.each([
      ['another manifest digest', { manifest_digest: `sha256:${'0'.repeat(64)}` }],
      ['another definition digest', { definition_digest: `sha256:${'1'.repeat(64)}` }],
      ['a wider scope', { scope: 'files:read files:write' }],
      ['another log index', { log_index: 99_999 }],
      ['another version', { tool_version: '2.0.0' }],
    ])('a validly signed set claiming %s for the tool is refused (ATTESTATION_INVALID)', async (_name, change) => {
      const set = await fetchSet(['set_a']);
      const { token, trustRoot } = await mintSet([{ ...entryOf(set, 'set_a'), ...change }]);
      const v = await offline({ trustRoot });
      await v.addBundleSet({ ...set, attestation: token });
      expect(await codeOf(v.verify(tool('set_a'), P))).toBe('ATTESTATION_INVALID');
    });

    it('the same claims signed by a key the host does not pin are refused', async () => {
      const set = await fetchSet(['set_a']);
      const { token } = await mintSet([entryOf(set, 'set_a')]);
      expect(await codeOf((await offline()).addBundleSet({ ...set, attestation: token }))).toBe('ATTESTATION_INVALID');
    });

    it('a set naming one version twice is refused', async () => {
      const set = await fetchSet(['set_a']);
      const entry = entryOf(set, 'set_a');
      const { token, trustRoot } = await mintSet([entry, { ...entry, scope: '' }]);
      expect(await codeOf((await offline({ trustRoot })).addBundleSet({ ...set, attestation: token }))).toBe('ATTESTATION_INVALID');
    });

    it('a set minted with the per-version type is refused', async () => {
      const set = await fetchSet(['set_a']);
      const { token, trustRoot } = await mintSet([entryOf(set, 'set_a')], { typ: ATTESTATION_JWT_TYPE });
      expect(await codeOf((await offline({ trustRoot })).addBundleSet({ ...set, attestation: token }))).toBe('ATTESTATION_INVALID');
    });
  });
});

describe('VerifiedClient (real McpServer) against the registry', () => {
  it('listTools verifies the whole list with one POST /v1/bundles and one attestation, and calls work', async () => {
    const specs: ToolSpec[] = [1, 2, 3, 4, 5].map((i) => ({ name: `mcp_tool_${i}`, description: `Tool ${i}` }));
    for (const def of await listedDefinitions(specs)) await registry.publish(acme.token, acme.key, 'com.acme', def, '1.0.0', []);
    const paths: string[] = [];
    const counting: typeof fetch = (input, init) => {
      paths.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    const client = new RegistryClient({ baseUrl: registry.url, fetch: counting });
    const verifier = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey, registry: client }), registry: client });
    const { server, calls } = buildServer(specs);
    const verified = await connectVerified(server, verifier, { provider: 'com.acme' });
    const first = await verified.listTools();
    expect(first.withheld.map((w) => w.code)).toEqual(['NEEDS_APPROVAL', 'NEEDS_APPROVAL', 'NEEDS_APPROVAL', 'NEEDS_APPROVAL', 'NEEDS_APPROVAL']);
    expect(paths).toEqual(['POST /v1/bundles']);
    for (const spec of specs) await verified.approve(spec.name);
    expect((await verified.listTools()).tools.map((t) => t.name)).toEqual(specs.map((s) => s.name));
    await verified.callTool('mcp_tool_3', { query: 'x' });
    expect(calls).toEqual(['mcp_tool_3:x']);
  });
});
