/**
 * Client verifier costs, side by side in one run, against 100 bare native Ed25519 verifies of
 * the same manifests' bytes (100 distinct signed tools of ~2 KB, a fresh verifier each run):
 * - online: what VerifiedClient.listTools runs against a registry, ToolVerifier.prefetch (one
 *   POST /v1/bundles through RegistryClient over HTTP on 127.0.0.1, the registry's answer held
 *   in memory) then the 100 verifications concurrently;
 * - offline: a host's bundle-set file (decodeBundleSet, addBundleSet, the 100 verifications);
 * - re-checking the same 100 unchanged, approved tools before calls, against the online cold run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SignJWT, importJWK } from 'jose';
import {
  ATTESTATION_JWT_TYPE,
  ATTESTATION_SET_JWT_TYPE,
  BUNDLE_SET_TYPE,
  type BundleSet,
  LOG_EVENT_TYPE,
  MANIFEST_TYPE,
  type ManifestRecord,
  type ToolManifest,
  type VersionBundle,
} from '@etdi/schemas';

/** The bench publishes our own signed manifests only. */
type ManifestBundle = VersionBundle & { record: ManifestRecord };
import { canonicalBytes, fromBase64Url, generateKeyPair, signManifest, verifyManifestSignature } from '@etdi/protocol';
import { SqliteStore, TransparencyLog } from '@etdi/registry';
import { RegistryClient, ToolVerifier, createLogChecker, createTrustRoot, decodeBundle, decodeBundleSet, expectedAttestation, verifyAttestation, versionPublishedLeaf, type TrustRootConfig } from '@etdi/client';
import { realToolsFixture } from './fixtures.js';
import type { BenchReport } from './report.js';

const TOOLS = 100;
const P = { provider: 'com.bench' };
const RUNS = 15;
const ISSUER = 'https://registry.bench';
const AUDIENCE = 'etdi-bench';
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Fixture {
  trust: TrustRootConfig;
  bundles: ManifestBundle[];
  /** The same 100 versions as one bundle set: one attestation set, bundles without their own token. */
  set: BundleSet;
  live: Record<string, unknown>[];
  /** The exact bytes each manifest signature covers, the signature and the signer's raw key. */
  bare: { bytes: Uint8Array; sig: Uint8Array }[];
  signerX: string;
}

/** 100 distinct ~2 KB tools from the real server-filesystem/memory definitions, signed, logged and attested. */
export async function buildFixture(): Promise<Fixture> {
  const seeds = [...realToolsFixture('filesystem'), ...realToolsFixture('memory')] as Record<string, unknown>[];
  const store = SqliteStore.open({ path: ':memory:' });
  const log = await TransparencyLog.open(store, { origin: 'registry.bench/log' });
  const registryKey = generateKeyPair();
  const provider = generateKeyPair();
  const signingKey = await importJWK(registryKey.privateJwk, 'EdDSA');
  const now = Date.now();
  const records = [];
  const live: Record<string, unknown>[] = [];
  const bare: Fixture['bare'] = [];
  const append = (data: Uint8Array): Promise<number> => store.transaction((tx) => log.append(tx, data));
  for (let i = 0; i < TOOLS; i++) {
    const seed = seeds[i % seeds.length]!;
    const definition = {
      ...seed,
      name: `${seed.name as string}_${i}`,
      // pad to ~2 KB with a realistic description (distinct per tool)
      description: `${(seed.description as string | undefined) ?? ''} Variant ${i}. `.padEnd(1200, 'Returns structured results; fails with a clear error message when the input is invalid. '),
    };
    const manifest: ToolManifest = {
      type: MANIFEST_TYPE,
      toolId: `com.bench/${definition.name}`,
      version: '1.0.0',
      provider: 'com.bench',
      definition: definition as ToolManifest['definition'],
      permissions: ['files:read'],
      issuedAt: iso(now - 60_000),
    };
    const signed = await signManifest(manifest, [provider.privateJwk]);
    const v = await verifyManifestSignature(signed, () => provider.publicJwk);
    const publishedAt = iso(now - 30_000);
    const leafIndex = await append(
      canonicalBytes({
        type: LOG_EVENT_TYPE,
        kind: 'version.published',
        at: publishedAt,
        actor: `key:${provider.keyId}`,
        namespace: 'com.bench',
        toolId: manifest.toolId,
        version: '1.0.0',
        manifestDigest: v.manifestDigest,
        definitionDigest: v.definitionDigest,
        signerKeyId: provider.keyId,
      }),
    );
    records.push({ toolId: manifest.toolId, version: '1.0.0', provider: 'com.bench', signedManifest: signed, definitionDigest: v.definitionDigest, manifestDigest: v.manifestDigest, signerKeyId: provider.keyId, publishedAt, publishedBy: `key:${provider.keyId}`, leafIndex });
    live.push(definition);
    bare.push({ bytes: canonicalBytes(manifest), sig: fromBase64Url(signed.signatures[0]!.sig) });
  }
  // the checkpoint over the 100 leaves, which every bundle's evidence proves against
  await store.transaction((tx) => log.signCheckpoint(tx));
  const bundles: ManifestBundle[] = [];
  for (const record of records) {
    const attestation = await new SignJWT({
      tool_version: record.version,
      provider: record.provider,
      definition_digest: record.definitionDigest,
      manifest_digest: record.manifestDigest,
      scope: 'files:read',
      log_index: record.leafIndex,
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: ATTESTATION_JWT_TYPE, kid: registryKey.keyId })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(record.toolId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(signingKey);
    bundles.push({
      type: 'etdi.bundle/v1',
      record,
      status: {
        toolId: record.toolId,
        version: record.version,
        status: 'active',
        signerKey: { keyId: provider.keyId, jwk: provider.publicJwk, status: 'active', addedAt: iso(now - 3600_000) },
        attestation,
        log: await log.evidence(record.leafIndex),
      },
    });
  }
  const setAttestation = await new SignJWT({
    tools: records.map((r) => ({
      sub: r.toolId,
      tool_version: r.version,
      provider: r.provider,
      definition_digest: r.definitionDigest,
      manifest_digest: r.manifestDigest,
      scope: 'files:read',
      log_index: r.leafIndex,
    })),
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: ATTESTATION_SET_JWT_TYPE, kid: registryKey.keyId })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signingKey);
  const set: BundleSet = {
    type: BUNDLE_SET_TYPE,
    attestation: setAttestation,
    bundles: bundles.map((b) => ({ ...b, status: { ...b.status, attestation: '' } })),
    latest: [],
    missing: [],
  };
  const trust: TrustRootConfig = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [registryKey.publicJwk] }, pinnedKeyIds: [registryKey.keyId], logKey: log.verifierKey() };
  await store.close();
  return { trust, bundles, set, live, bare, signerX: provider.publicJwk.x };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A verifier with nothing cached, loading the bundles from their JSON text (strict parse + schema). */
async function freshVerifier(f: Fixture, texts: readonly string[]): Promise<ToolVerifier> {
  return new ToolVerifier({ trustRoot: f.trust, log: await createLogChecker({ logKey: f.trust.logKey }), bundles: texts.map((t) => decodeBundle(t)) });
}

export async function run(): Promise<BenchReport> {
  const f = await buildFixture();
  const avgDefBytes = f.live.reduce((n, d) => n + canonicalBytes(d).length, 0) / f.live.length;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: f.signerX }, format: 'jwk' });

  const bareRun = (): number => {
    const t = performance.now();
    for (const b of f.bare) if (!nodeVerify(null, b.bytes, key, b.sig)) throw new Error('bare verify failed');
    return performance.now() - t;
  };
  const texts = f.bundles.map((b) => JSON.stringify(b));
  // Each cold run gets new definition objects, as a new listing from the SDK would be: nothing
  // the verifier remembers about an object it saw before (frozen, checked) can help it.
  const liveText = JSON.stringify(f.live);
  const freshLive = (): Record<string, unknown>[] => JSON.parse(liveText) as Record<string, unknown>[];
  const coldConcurrent = async (): Promise<number> => {
    const live = freshLive();
    const t = performance.now();
    const v = await freshVerifier(f, texts);
    await Promise.all(live.map((def) => v.verify(def, P)));
    return performance.now() - t;
  };
  // What listTools does against a registry with bundle sets: one set (one attestation for all
  // 100 versions), decoded from its text, its attestation verified once, every tool concurrently.
  const setText = JSON.stringify(f.set);
  // Its phases, for the next person: decoding the set, its attestation, the tools (the only
  // phase where the thread pool's Ed25519 verifies overlap the main thread's work), and how
  // busy the main thread was over the whole run.
  const phases = { decode: [] as number[], attestation: [] as number[], tools: [] as number[], mainBusy: [] as number[] };
  // The registry over loopback, its answer to POST /v1/bundles held in memory: what is measured
  // is the client's side (request, strict parse, BundleSetSchema, the set's attestation, the tools).
  const onlineSetText = Buffer.from(JSON.stringify({ ...f.set, latest: f.set.bundles.map((b) => ({ toolId: b.record.toolId, version: b.record.version })) }));
  let setRequests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/bundles') return void res.writeHead(404).end();
      setRequests++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': onlineSetText.length }).end(onlineSetText);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registry = new RegistryClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  const onlinePhases = { prefetch: [] as number[], tools: [] as number[], transport: [] as number[] };
  // Diagnostic: the same request with the body only read (no parse, no check): the transport's share.
  const registryUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/bundles`;
  const transportOnly = async (): Promise<void> => {
    const t = performance.now();
    const res = await fetch(registryUrl, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    await res.arrayBuffer();
    onlinePhases.transport.push(performance.now() - t);
    setRequests--; // not a verification run
  };
  const coldOnline = async (): Promise<number> => {
    const live = freshLive();
    const before = setRequests;
    const t = performance.now();
    const v = new ToolVerifier({ trustRoot: f.trust, log: await createLogChecker({ logKey: f.trust.logKey }), registry });
    await v.prefetch(live, P); // as listTools does, but a failure here must fail the bench, not fall back
    const t1 = performance.now();
    await Promise.all(live.map((def) => v.check(def, P)));
    const end = performance.now();
    onlinePhases.prefetch.push(t1 - t);
    onlinePhases.tools.push(end - t1);
    if (setRequests !== before + 1) throw new Error('the online run did not take its bundles from one bundle set');
    return end - t;
  };
  const coldSet = async (): Promise<number> => {
    const live = freshLive();
    const elu = performance.eventLoopUtilization();
    const t = performance.now();
    const v = new ToolVerifier({ trustRoot: f.trust, log: await createLogChecker({ logKey: f.trust.logKey }) });
    const decoded = decodeBundleSet(setText);
    const t1 = performance.now();
    await v.addBundleSet(decoded);
    const t2 = performance.now();
    await Promise.all(live.map((def) => v.verify(def, P)));
    const end = performance.now();
    phases.decode.push(t1 - t);
    phases.attestation.push(t2 - t1);
    phases.tools.push(end - t2);
    phases.mainBusy.push(performance.eventLoopUtilization(elu).active);
    return end - t;
  };
  // warm-up (JIT, key imports, module caches), then interleave the measured runs
  for (let i = 0; i < 3; i++) {
    bareRun();
    await coldOnline();
    await coldConcurrent();
    await coldSet();
  }
  const bare: number[] = [];
  const online: number[] = [];
  const conc: number[] = [];
  const set: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(bareRun());
    online.push(await coldOnline());
    await transportOnly();
    conc.push(await coldConcurrent());
    set.push(await coldSet());
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));

  // Re-check before calls: the 100 tools approved, unchanged (the live objects a host keeps).
  const verifier = await freshVerifier(f, texts);
  const approvedLive = freshLive();
  for (const def of approvedLive) await verifier.approve(await verifier.verify(def, P));
  const recheckRun = (): number => {
    const t = performance.now();
    for (const def of approvedLive) {
      const r = verifier.recheck(def, P);
      if (r?.decision.status !== 'approved') throw new Error('re-check did not allow an approved tool');
    }
    return performance.now() - t;
  };
  for (let i = 0; i < 5; i++) recheckRun();
  const recheck: number[] = [];
  for (let i = 0; i < RUNS; i++) recheck.push(recheckRun());

  // Where a cold verification's time goes, step by step over the same 100 tools (medians of 5).
  const trustRoot = createTrustRoot(f.trust);
  const step = async (fn: (i: number) => unknown): Promise<number> => {
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (let i = 0; i < TOOLS; i++) await fn(i);
      times.push(performance.now() - t);
    }
    return median(times);
  };
  const stepDecode = await step((i) => decodeBundle(texts[i]!));
  const stepManifest = await step((i) => verifyManifestSignature(f.bundles[i]!.record.signedManifest, () => f.bundles[i]!.status.signerKey.jwk));
  const logChecker = await createLogChecker({ logKey: f.trust.logKey });
  const leaves = f.bundles.map((bd) => versionPublishedLeaf(bd.record));
  const stepLog = await step((i) => logChecker.checkInclusion(leaves[i]!, f.bundles[i]!.status.log));
  const stepAttestation = await step((i) => {
    const { record, status } = f.bundles[i]!;
    return verifyAttestation(status.attestation, trustRoot, expectedAttestation(record));
  });
  const bareAgain = median([bareRun(), bareRun(), bareRun(), bareRun(), bareRun()]);

  const [b, on, c, r, bs] = [median(bare), median(online), median(conc), median(recheck), median(set)];
  const cold = on;
  return {
    title: 'Client verifier: cold verification and re-check of 100 signed tools',
    rows: [
      { name: 'tool definition size (JCS, mean)', value: avgDefBytes, unit: 'bytes' },
      { name: '100 bare native Ed25519 verifies (node:crypto)', value: b, unit: 'ms', note: `median of ${RUNS}` },
      { name: '100 cold verifications, online (listTools: prefetch over loopback)', value: on, unit: 'ms', note: `${(on / b).toFixed(2)}x bare` },
      { name: '  of which the prefetch (request, strict JSON, zod, the set\'s attestation)', value: median(onlinePhases.prefetch), unit: 'ms', note: `${(median(onlinePhases.prefetch) / b).toFixed(2)}x bare` },
      { name: '    of which the transport (the same POST, body read only)', value: median(onlinePhases.transport), unit: 'ms', note: `${(median(onlinePhases.transport) / b).toFixed(2)}x bare` },
      { name: '  of which the 100 tools', value: median(onlinePhases.tools), unit: 'ms', note: `${(median(onlinePhases.tools) / b).toFixed(2)}x bare` },
      { name: '100 cold verifications, offline bundle-set file', value: bs, unit: 'ms', note: `${(bs / b).toFixed(2)}x bare` },
      { name: '  of which decoding the set (strict JSON + zod schema)', value: median(phases.decode), unit: 'ms', note: `${(median(phases.decode) / b).toFixed(2)}x bare; the other core idles` },
      { name: '  of which the attestation set (jose, one signature)', value: median(phases.attestation), unit: 'ms', note: `${(median(phases.attestation) / b).toFixed(2)}x bare` },
      { name: '  of which the 100 tools (Ed25519 on the thread pool)', value: median(phases.tools), unit: 'ms', note: `${(median(phases.tools) / b).toFixed(2)}x bare` },
      { name: '  main thread busy over the whole run', value: median(phases.mainBusy), unit: 'ms', note: `${(median(phases.mainBusy) / b).toFixed(2)}x bare (event loop utilisation)` },
      { name: '100 cold verifications, offline bundle files (a token each)', value: c, unit: 'ms', note: `${(c / b).toFixed(2)}x bare` },
      { name: '100 re-checks before calls (unchanged, approved)', value: r, unit: 'ms', note: `1/${(cold / r).toFixed(0)} of online cold` },
      { name: 'step: decode bundle text (strict JSON + zod schema), x100', value: stepDecode, unit: 'ms', note: `${(stepDecode / bareAgain).toFixed(2)}x bare` },
      { name: 'step: manifest signature (JCS + Ed25519 + digests), x100', value: stepManifest, unit: 'ms', note: `${(stepManifest / bareAgain).toFixed(2)}x bare` },
      { name: 'step: log inclusion (shared checkpoint), x100', value: stepLog, unit: 'ms', note: `${(stepLog / bareAgain).toFixed(2)}x bare` },
      { name: 'step: attestation JWT (jose, WebCrypto Ed25519), x100', value: stepAttestation, unit: 'ms', note: `${(stepAttestation / bareAgain).toFixed(2)}x bare` },
      { name: 'per re-check', value: (r / TOOLS) * 1000, unit: 'µs' },
    ],
    checks: [
      {
        name: 'online cold verification of 100 tools <= 2.0x 100 bare Ed25519 verifies',
        ok: cold <= 2.0 * b,
        detail: `online ${cold.toFixed(2)} ms vs bare ${b.toFixed(2)} ms = ${(cold / b).toFixed(2)}x (offline set file ${(bs / b).toFixed(2)}x)`,
      },
      {
        name: 're-check of 100 unchanged tools <= 1/20 of the cold run',
        ok: r <= cold / 20,
        detail: `re-check ${r.toFixed(3)} ms vs cold ${cold.toFixed(2)} ms = 1/${(cold / r).toFixed(1)}`,
      },
    ],
  };
}
