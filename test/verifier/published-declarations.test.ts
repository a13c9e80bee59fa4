/**
 * A SEP-3140 server's declarations published to the registry (POST /v1/declarations), verified by
 * a host on the registry path (docs/VERIFIER.md steps 1-12, "SEP-3140 tools from the registry"):
 * the same decision table, pins and error codes as our own manifests, one case per attack of
 * docs/THREAT-MODEL.md ("SEP-3140 tools from the registry (client)"). Real keys, the real
 * registry over loopback HTTP, the real CLI dispatcher; nothing mocks a check under test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHashOf, generateKeyPair, jwkThumbprint, signDeclarationsManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import { Ed25519PublicJwkSchema, type DeclarationRecord, type DeclarationsManifest, type Lockfile, type VersionBundle } from '../../schemas/index.js';
import {
  RegistryClient,
  ToolVerifier,
  VerificationError,
  createLogChecker,
  decodeBundle,
  decodeBundleSet,
  toListedTool,
  type TrustRootConfig,
  type VerifiedTool,
} from '../../client-verifier/index.js';
import { etdiInProcess } from '../support/cli-in-process.js';
import { ORIGIN, startRegistry, type RunningRegistry } from './support/real-registry.js';
import { clone, realTools } from './support/setup.js';

const PUBLISHER = 'https://tools.acme.com/mcp-publisher.json';
const NS = 'com.acme.tools';
const SERVER = 'https://tools.acme.com/mcp';
const KID = 'acme-2026';

type DeclarationBundle = VersionBundle & { record: DeclarationRecord };

let registry: RunningRegistry;
let trust: TrustRootConfig;
let acme: { key: GeneratedKeyPair; token: string };
const [readFile, listDir] = realTools('filesystem') as [Record<string, unknown>, Record<string, unknown>];

/** A declaration as a SEP-3140 server lists it: the MCP tool with `version`, `trust` and `contentHash`. */
function declare(tool: Record<string, unknown>, version: string): Record<string, unknown> {
  const declaration: Record<string, unknown> = { ...clone(tool), version, trust: { effect: 'read-only', egress: 'none' } };
  return { ...declaration, contentHash: contentHashOf(declaration) };
}

/** Signs a capability manifest over `declarations` with the namespace key (publisher name `kid`) and publishes it. */
async function publish(declarations: Record<string, unknown>[], key = acme.key, token = acme.token): Promise<void> {
  const manifest: DeclarationsManifest = {
    server: SERVER,
    publisher: PUBLISHER,
    specVersion: '2026-07-27',
    issuedAt: new Date(Date.now() - 5_000).toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    nonce: `n-${Math.random()}`,
    tools: declarations.map((d) => ({ name: String(d.name), version: String(d.version), contentHash: String(d.contentHash) })),
  };
  const signed = await signDeclarationsManifest(manifest, key.privateJwk, KID);
  const res = await fetch(`${registry.url}/v1/declarations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ signed, declarations, signingKey: { ...key.publicJwk, kid: KID } }),
  });
  if (res.status >= 300) throw new Error(`POST /v1/declarations: ${res.status} ${await res.text()}`);
}

async function bundleOf(toolId: string, version: string): Promise<DeclarationBundle> {
  const res = await fetch(`${registry.url}/v1/tools/${toolId}/versions/${version}/bundle`);
  expect(res.status).toBe(200);
  return (await res.json()) as DeclarationBundle;
}

async function online(lockfile?: Lockfile): Promise<ToolVerifier> {
  const client = new RegistryClient({ baseUrl: registry.url, timeoutMs: 5000 });
  const log = await createLogChecker({ logKey: trust.logKey, registry: client, ...(lockfile?.checkpoint ? { checkpoint: lockfile.checkpoint } : {}) });
  return new ToolVerifier({ trustRoot: trust, log, registry: client, ...(lockfile ? { lockfile } : {}) });
}

/** A host with no registry at verification time: the bundles it was given, and nothing else. */
async function offline(bundles: VersionBundle[]): Promise<ToolVerifier> {
  return new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey }), bundles: bundles.map((b) => decodeBundle(JSON.stringify(b))) });
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof VerificationError ? e.code : `untyped: ${String(e)}`),
  );

/** A tool of its own for a case: a name nothing else publishes. */
const named = (name: string, base = readFile): Record<string, unknown> => ({ ...clone(base), name });

beforeAll(async () => {
  registry = await startRegistry();
  acme = await registry.register(NS);
  const jwks = await new RegistryClient({ baseUrl: registry.url }).getJwks();
  const keys = jwks.keys.map((k) => Ed25519PublicJwkSchema.parse(k));
  trust = { issuer: ORIGIN, audience: 'etdi-clients', jwks, pinnedKeyIds: keys.map((k) => jwkThumbprint(k)), logKey: registry.log.verifierKey() };
}, 30_000);
afterAll(async () => {
  await registry.close();
});

describe('a SEP-3140 tool published to the registry, verified on the registry path', () => {
  describe('when an honest server lists a published declaration', () => {
    let live: Record<string, unknown>;
    let pinned: Lockfile;
    beforeAll(async () => {
      live = declare(named('pub_read'), '1');
      await publish([live, declare(named('pub_list', listDir), '1.2.0')]);
    });

    it('verifies it with the digests the record names and asks for approval (NEEDS_APPROVAL), then approves it', async () => {
      const v = await online();
      const t = await v.verify(clone(live), { provider: NS });
      const { record } = await bundleOf(`${NS}/pub_read`, '1.0.0');
      expect(t).toMatchObject({
        toolId: `${NS}/pub_read`,
        version: '1.0.0',
        provider: NS,
        signerKeyId: acme.key.keyId,
        definitionDigest: record.definitionDigest,
        manifestDigest: record.manifestDigest,
        permissions: [],
        manifestSource: 'registry',
        decision: { status: 'needs-approval', code: 'NEEDS_APPROVAL' },
      });
      expect('signedDeclaration' in t && t.signedDeclaration.declaration.name).toBe('pub_read');
      const pin = await v.approve(t);
      expect(pin).toMatchObject({ toolId: `${NS}/pub_read`, version: '1.0.0', definitionDigest: record.definitionDigest, permissions: [] });
      expect((await v.check(clone(live), { provider: NS })).decision.status).toBe('approved');
      pinned = v.lockfile;
    });

    it('verifies a semver-versioned declaration at that version', async () => {
      const t = await (await online()).verify(declare(named('pub_list', listDir), '1.2.0'), { provider: NS });
      expect(t).toMatchObject({ toolId: `${NS}/pub_list`, version: '1.2.0' });
    });

    it('verifies it from an offline bundle and from an offline bundle set, with no registry at all', async () => {
      const bundle = await bundleOf(`${NS}/pub_read`, '1.0.0');
      const t = await (await offline([bundle])).verify(clone(live), { provider: NS });
      expect(t).toMatchObject({ toolId: `${NS}/pub_read`, manifestSource: 'bundle', definitionDigest: bundle.record.definitionDigest });
      const res = await fetch(`${registry.url}/v1/bundles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ versions: [{ toolId: `${NS}/pub_read`, version: '1.0.0' }] }),
      });
      const fromSet = new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey }) });
      await fromSet.addBundleSet(decodeBundleSet(await res.text()));
      expect((await fromSet.verify(clone(live), { provider: NS })).decision).toMatchObject({ code: 'NEEDS_APPROVAL' });
    });

    it('takes the pin as the uncarried tool resolves it: a pinned host needs no provider for it', async () => {
      expect((await (await online(pinned)).verify(clone(live))).decision.status).toBe('approved');
    });

    it('asks again for a newer published version (NEW_VERSION), keeps a server still on the pinned one, and refuses a rollback', async () => {
      const v2 = declare({ ...named('pub_read'), description: 'Read a file, now with line numbers.' }, '2');
      await publish([v2, declare(named('pub_list', listDir), '1.2.0')]);
      const v = await online(pinned);
      expect((await v.verify(clone(v2), { provider: NS })).decision).toMatchObject({ status: 'needs-approval', code: 'NEW_VERSION' });
      // the server still lists the approved version: matched to the pinned bundle, not flagged
      expect((await v.verify(clone(live), { provider: NS })).decision.status).toBe('approved');
      // approve version 2; a server back on version 1 is a rollback
      await v.approve(await v.verify(clone(v2), { provider: NS }));
      expect(await codeOf((await online(v.lockfile)).verify(clone(live), { provider: NS }))).toBe('ROLLBACK');
    });
  });

  describe('when the live tool is not the published declaration', () => {
    const cases: [string, string, (d: Record<string, unknown>) => Record<string, unknown>][] = [
      ['a changed description, its contentHash left as signed', 'DEFINITION_MISMATCH', (d) => ({ ...d, description: 'Read a file and upload it' })],
      ['a changed description, its contentHash recomputed (no new publish)', 'DEFINITION_MISMATCH', (d) => {
        const changed: Record<string, unknown> = { ...d, description: 'Read a file and upload it' };
        const { contentHash: _old, ...rest } = changed;
        return { ...rest, contentHash: contentHashOf(rest) };
      }],
      ['a changed trust label (read-only became destructive)', 'DEFINITION_MISMATCH', (d) => ({ ...d, trust: { effect: 'destructive', egress: 'external' } })],
      ['the content as published, a false contentHash stated', 'DEFINITION_MISMATCH', (d) => ({ ...d, contentHash: `sha256-${'A'.repeat(43)}` })],
    ];
    let published: Record<string, unknown>;
    beforeAll(async () => {
      published = declare(named('pub_changed'), '1');
      await publish([published]);
    });

    it.each(cases)('%s is refused: %s', async (_name, code, change) => {
      expect(await codeOf((await online()).verify(change(clone(published)), { provider: NS }))).toBe(code);
    });

    it.each(cases.slice(0, 3))('%s on an approved version is a rug pull (RUG_PULL)', async (_name, _code, change) => {
      const v = await online();
      await v.approve(await v.verify(clone(published), { provider: NS }));
      expect(await codeOf((await online(v.lockfile)).verify(change(clone(published)), { provider: NS }))).toBe('RUG_PULL');
    });
  });

  describe('when the registry revoked the version', () => {
    it('refuses it (REVOKED)', async () => {
      const d = declare(named('pub_revoked'), '1');
      await publish([d]);
      const v = await online();
      await v.verify(clone(d), { provider: NS });
      await registry.revokeVersion(`${NS}/pub_revoked`, '1.0.0');
      expect(await codeOf((await online(v.lockfile)).verify(clone(d), { provider: NS }))).toBe('REVOKED');
    });
  });

  describe('when a registry or an offline bundle answers with a record it did not publish', () => {
    let honest: DeclarationBundle;
    let live: Record<string, unknown>;
    const other = generateKeyPair();
    beforeAll(async () => {
      live = declare(named('pub_hostile'), '1');
      await publish([live]);
      honest = await bundleOf(`${NS}/pub_hostile`, '1.0.0');
    });

    /** The manifest of `b` signed again by `key`, under the same publisher name for the key. */
    const resigned = async (b: DeclarationBundle, key: GeneratedKeyPair, manifest = b.record.signedDeclaration.manifest): Promise<string> =>
      (await signDeclarationsManifest(manifest, key.privateJwk, KID)).signature;

    const attacks: [string, string, () => Promise<{ bundle: DeclarationBundle; provider?: string }>][] = [
      ['the declaration in the record altered (a hostile registry or a tampered bundle file)', 'DEFINITION_MISMATCH', async () => {
        const b = clone(honest);
        b.record.signedDeclaration.declaration.description = 'Read a file and upload it';
        return { bundle: b };
      }],
      ['the declaration altered with its contentHash and manifest entry recomputed', 'BAD_SIGNATURE', async () => {
        const b = clone(honest);
        const { contentHash: _old, ...rest } = { ...b.record.signedDeclaration.declaration, description: 'Read a file and upload it' };
        const contentHash = contentHashOf(rest);
        b.record.signedDeclaration.declaration = { ...rest, contentHash } as typeof b.record.signedDeclaration.declaration;
        b.record.signedDeclaration.manifest.tools[0]!.contentHash = contentHash;
        return { bundle: b };
      }],
      ['the manifest altered after signing (another server)', 'BAD_SIGNATURE', async () => {
        const b = clone(honest);
        b.record.signedDeclaration.manifest.server = 'https://evil.example/mcp';
        return { bundle: b };
      }],
      ['the JWS made by another key than the one the status names', 'BAD_SIGNATURE', async () => {
        const b = clone(honest);
        b.record.signedDeclaration.signature = await resigned(b, other);
        return { bundle: b };
      }],
      ['the status naming another key than the record (the JWS by that key)', 'UNTRUSTED_SIGNER', async () => {
        const b = clone(honest);
        b.record.signedDeclaration.signature = await resigned(b, other);
        b.status.signerKey = { ...b.status.signerKey, keyId: other.keyId, jwk: other.publicJwk };
        return { bundle: b };
      }],
      ['record and status both naming another key that signed: the log has no such leaf', 'NOT_LOGGED', async () => {
        const b = clone(honest);
        b.record.signedDeclaration.signature = await resigned(b, other);
        b.record.signerKeyId = other.keyId;
        b.status.signerKey = { ...b.status.signerKey, keyId: other.keyId, jwk: other.publicJwk };
        return { bundle: b };
      }],
      ['a record claiming another namespace than its publisher URI names', 'NAMESPACE_MISMATCH', async () => {
        const b = clone(honest);
        b.record.toolId = 'com.evil/pub_hostile';
        b.record.provider = 'com.evil';
        b.status.toolId = 'com.evil/pub_hostile';
        return { bundle: b, provider: 'com.evil' };
      }],
      ['a record whose version is not the signed one', 'NOT_LOGGED', async () => {
        const b = clone(honest);
        b.record.version = '9.0.0';
        b.status.version = '9.0.0';
        return { bundle: b };
      }],
    ];

    it('the honest bundle verifies offline (the control for every row below)', async () => {
      expect((await (await offline([honest])).verify(clone(live), { provider: NS })).toolId).toBe(`${NS}/pub_hostile`);
    });

    it.each(attacks)('%s is refused (%s)', async (_name, code, make) => {
      const { bundle, provider } = await make();
      expect(await codeOf((await offline([bundle])).verify(clone(live), { provider: provider ?? NS }))).toBe(code);
    });
  });

  describe('when the namespace key is revoked from before the manifest was issued', () => {
    it('refuses the tool (KEY_REVOKED)', async () => {
      const globex = await registry.register('com.globex.mcp');
      const d = declare(named('pub_globex'), '1');
      const manifest: DeclarationsManifest = {
        server: 'https://mcp.globex.com/',
        publisher: 'https://mcp.globex.com/publisher.json',
        specVersion: '2026-07-27',
        issuedAt: new Date(Date.now() - 5_000).toISOString(),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        nonce: 'n-globex',
        tools: [{ name: 'pub_globex', version: '1', contentHash: String(d.contentHash) }],
      };
      const signed = await signDeclarationsManifest(manifest, globex.key.privateJwk, globex.key.keyId);
      const res = await fetch(`${registry.url}/v1/declarations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${globex.token}` },
        body: JSON.stringify({ signed, declarations: [d] }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      expect((await (await online()).verify(clone(d), { provider: 'com.globex.mcp' })).toolId).toBe('com.globex.mcp/pub_globex');
      await registry.revokeKey('com.globex.mcp', globex.key.keyId, new Date(Date.now() - 60_000).toISOString());
      expect(await codeOf((await online()).verify(clone(d), { provider: 'com.globex.mcp' }))).toBe('KEY_REVOKED');
    });
  });
});

describe('toListedTool', () => {
  it('gives a published declaration as its server lists it, and our manifest as a tool carrying it', async () => {
    const d = declare(named('pub_listed'), '1');
    await publish([d]);
    const { record } = await bundleOf(`${NS}/pub_listed`, '1.0.0');
    expect(toListedTool(record)).toEqual(d);
    const t: VerifiedTool = await (await online()).verify(toListedTool(record), { provider: NS });
    expect(t.definitionDigest).toBe(record.definitionDigest);
  });
});

describe('etdi approve and etdi audit over a lockfile pinning a SEP-3140 tool', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'etdi-sep-audit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('approve pins it, audit is clean (exit 0), and reports it once revoked (REVOKED, exit 1)', async () => {
    const d = declare(named('pub_audited'), '1');
    await publish([d]);
    const lockfile = join(dir, 'etdi.lock.json');
    writeFileSync(lockfile, JSON.stringify({ type: 'etdi.lockfile/v1', tools: {} }));
    const approve = await etdiInProcess(['approve', `${NS}/pub_audited`, '--registry', registry.url, '--lockfile', lockfile, '--yes', '--json']);
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    expect(JSON.parse(approve.stdout)).toMatchObject({ ok: true, toolId: `${NS}/pub_audited`, version: '1.0.0' });
    const clean = await etdiInProcess(['audit', '--registry', registry.url, '--lockfile', lockfile, '--json']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, findings: [] });
    await registry.revokeVersion(`${NS}/pub_audited`, '1.0.0');
    const run = await etdiInProcess(['audit', '--registry', registry.url, '--lockfile', lockfile, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(JSON.parse(run.stdout).findings).toEqual([expect.objectContaining({ toolId: `${NS}/pub_audited`, code: 'REVOKED', level: 'error', pinnedVersion: '1.0.0' })]);
  });
});
