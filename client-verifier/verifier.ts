import semverCompare from 'semver/functions/compare.js';
import type { CryptoKey } from 'jose';
import { MAX_BUNDLE_SET, type AttestationClaims, type Lockfile, type LockfileCheckpoint, type LockfilePin } from '@etdi/schemas';
import { defaultBackend, digestOf, nodeThreadpoolBackend, type Ed25519Backend } from '@etdi/protocol';
import { verifyAttestationSet, type AttestationOptions, type AttestedVersions } from './attestation.js';
import { VerificationError } from './errors.js';
import { emptyLockfile } from './lockfile.js';
import { decidePin, toPin, type PinDecision, type SignedTerms } from './pins.js';
import type { RegistryClient } from './registry-client.js';
import { createTrustRoot, type TrustRoot, type TrustRootConfig } from './trust-root.js';
import { decodeRecordTerms } from './signed-version.js';
import { bundleSource, type BundleSource, type ValidatedBundle, type ValidatedBundleSet } from './bundles.js';
import type { LogChecker, VerifiedEvidence, VerifiedTool, VerifyContext } from './evidence.js';
import { checkListedTool, deepFreeze, type ListedTool } from './steps/1-listed-tool.js';
import { bundleTargets } from './steps/2-manifest.js';
import { verifyListedTool } from './verify-tool.js';
import { checkDeclaredTool, isDeclaredTool, type DeclaredEvidence, type DeclaredTool } from './sep3140/declared-tool.js';
import { discoverSigningKeys, type DiscoveredKeys, type DiscoveryFetch } from './sep3140/discovery.js';
import { riskVerdict, type RiskApprovalRule } from './sep3140/risk-approval.js';
import { toolTrust } from './sep3140/tool-trust.js';
import type { FirstSeenKeys, PublisherTrustPolicy } from './sep3140/trust-policy.js';
import { verifyDeclarationsManifest, type TrustedDeclarations } from './sep3140/verify-manifest.js';

/** How the verifier checks servers that negotiate SEP-3140 signed declarations (docs/VERIFIER.md, "SEP-3140 servers"). */
export interface DeclarationsOptions {
  /** Which publishers are trusted: pinned keys, allow-listed publishers, trust on first use. */
  trust: PublisherTrustPolicy;
  /** Fetches discovery documents with the SSRF protections (`createDiscoveryFetch` from `@etdi/client/node`). */
  fetch: DiscoveryFetch;
  /** A trust label outside the vocabulary: `refuse` (default, UNKNOWN_TRUST_LABEL) or `most-restrictive` (read as the SEP says). */
  unknownTrustLabels?: 'refuse' | 'most-restrictive';
  /** Risk-graduated approval from the verified trust labels. Default none: every tool is asked about. */
  riskApproval?: RiskApprovalRule;
  /** Accepted clock skew for `issuedAt`/`expiresAt`, seconds. Default 60. */
  clockSkewSec?: number;
  /** How long discovered keys are used before they are fetched again, ms. Default 300,000; 0 fetches them for every manifest. */
  discoveryCacheMs?: number;
}

/** A log checker that also reports the newest checkpoint it verified (for the lockfile). */
export interface StatefulLogChecker extends LogChecker {
  newestCheckpoint(): LockfileCheckpoint | undefined;
}

export interface ToolVerifierOptions {
  /**
   * The registry this host trusts, with `log`. Both may be left out by a host that verifies
   * only SEP-3140 servers (`declarations`): a tool that needs the registry is then UNSIGNED.
   */
  trustRoot?: TrustRoot | TrustRootConfig;
  /** Log inclusion and consistency (createLogChecker in log-check.ts). */
  log?: StatefulLogChecker;
  /** The approvals. Default: none (every tool needs approval). */
  lockfile?: Lockfile;
  registry?: RegistryClient;
  /** Offline bundles (decodeBundle, decodeBundleSet), consulted before the registry. */
  bundles?: Iterable<ValidatedBundle>;
  /** A newer version without escalation: ask again (default) or accept it. */
  newVersion?: 'reapprove' | 'allow';
  /** A newer signed version whose only changes are its title or icons: ask again (default) or accept it (pins.ts). */
  cosmeticUpdates?: 'ask' | 'allow';
  /** SEP-3140 servers: how their capability manifests are verified and their tools approved. */
  declarations?: DeclarationsOptions;
  attestation?: AttestationOptions;
  /** The clock (tests, offline hosts). */
  now?: () => Date;
  /**
   * Ed25519 for manifest signatures. Default: node:crypto on libuv's thread pool where the
   * runtime has it, so a server's tools verified together (listTools) use every core.
   */
  ed25519?: Ed25519Backend;
  /** Called with the new lockfile after every change (approval, newer checkpoint): persist it. */
  onLockfileChange?: (lockfile: Lockfile) => void | Promise<void>;
}

export interface CheckOptions {
  /** The provider this server's tools must come from (host configuration). */
  provider?: string;
}

/** How long prefetched bundles are used (the registry's status max-age). */
const PREFETCH_TTL_MS = 30_000;

const isTrustRoot = (t: TrustRoot | TrustRootConfig): t is TrustRoot => 'attestationKeys' in t;

/**
 * The verifier a host keeps for a session: cold verification with a cache of verified
 * evidence, the lockfile, and approvals. `check` is what runs before every call: on an
 * unchanged tool it costs one digest of the live definition and a map lookup (no Ed25519, no
 * JWT), because evidence is cached by the digest of exactly what the server sent.
 */
export class ToolVerifier {
  /** The registry's trust root; undefined for a verifier of SEP-3140 servers only. */
  readonly trustRoot: TrustRoot | undefined;
  private lock: Lockfile;
  private readonly options: ToolVerifierOptions;
  private readonly offline: ValidatedBundle[] = [];
  private source: BundleSource | undefined;
  /** digest of the live tool as sent (incl. carried manifest) + provider -> evidence. */
  private readonly cache = new Map<string, VerifiedEvidence>();
  /** The tool names with evidence in `cache`: a tool of another name needs no digest to miss it. */
  private readonly cachedNames = new Set<string>();
  /** What each version verified here (or approved, learnApprovedManifest) vouches for, toolId@version. */
  private readonly manifests = new Map<string, SignedTerms>();
  /** The pinned attestation keys imported for WebCrypto (attestation.ts), for this verifier's trust root. */
  private readonly importedKeys = new Map<string, Promise<CryptoKey>>();
  /** Look-alike keys of the names compared by the pin rows (pins.ts). */
  private readonly lookalikeKeys = new Map<string, string[]>();
  /** The last approved result per cached evidence (re-check hot path). */
  private readonly approved = new WeakMap<VerifiedEvidence, VerifiedTool>();
  /** Digest of each definition object this verifier has digested and frozen (sentDigestOf). */
  private readonly frozenDigests = new WeakMap<object, string>();
  /** Listed tools this verifier checked (step 1) and froze: still valid, so not checked again. */
  private readonly listedTools = new WeakSet<object>();
  /** Versions vouched for by verified attestation sets (offline sets and prefetches), `toolId@version`. */
  private readonly attested = new Map<string, AttestationClaims>();
  /**
   * Bundles prefetched from the registry (prefetch), newest first: short-lived, each dropped at
   * its `until`. Several, because servers of one host may list their tools at the same time.
   */
  private prefetched: { source: BundleSource; until: number }[] = [];
  private readonly attestedVersion = (toolId: string, version: string): AttestationClaims | undefined => this.attested.get(`${toolId}@${version}`);
  /** SEP-3140: evidence of declared tools, by digest as sent and the manifest that vouched for it. */
  private readonly declaredCache = new Map<string, DeclaredEvidence>();
  /** SEP-3140 trust on first use: the key set first seen per publisher, for this verifier only. */
  private readonly firstSeen: FirstSeenKeys = new Map();
  /** SEP-3140: discovered keys per canonical server URI, until they are fetched again. */
  private readonly discovered = new Map<string, { keys: Promise<DiscoveredKeys>; until: number }>();

  constructor(options: ToolVerifierOptions) {
    if ((options.trustRoot === undefined) !== (options.log === undefined))
      throw new TypeError('ToolVerifier: trustRoot and log go together (give both, or neither for SEP-3140 servers only)');
    if (options.trustRoot === undefined && options.declarations === undefined)
      throw new TypeError('ToolVerifier: give a registry (trustRoot and log), SEP-3140 declarations options, or both');
    this.options = options;
    this.trustRoot = options.trustRoot === undefined ? undefined : isTrustRoot(options.trustRoot) ? options.trustRoot : createTrustRoot(options.trustRoot);
    this.lock = options.lockfile ?? emptyLockfile();
    if (options.bundles) this.addBundles(options.bundles);
  }

  /** The current approvals (a snapshot; change them with approve/revokeApproval). */
  get lockfile(): Lockfile {
    return this.lock;
  }

  /** Adds offline bundles (for example a host's bundle directory, each read with decodeBundle). */
  addBundles(bundles: Iterable<ValidatedBundle>): void {
    this.offline.push(...bundles);
    this.source = bundleSource(this.offline, semverCompare);
  }

  /**
   * Adds a bundle set (BundleSetSchema: many bundles under one registry attestation), for
   * example a host's offline file: its attestation is verified now (ATTESTATION_INVALID
   * otherwise, and nothing is added); each bundle is verified when its tool is.
   */
  async addBundleSet(set: ValidatedBundleSet): Promise<void> {
    this.rememberAttested(await this.verifySet(set));
    this.addBundles(set.bundles);
  }

  /**
   * Fetches, in one request, the bundles every listed tool will need (`POST /v1/bundles`) and
   * verifies their attestation set once, so that verifying the list costs one registry signature
   * rather than one per tool. Tools whose evidence is cached or offline are not asked for.
   * Best effort: any failure leaves the per-tool path (one bundle per tool) to decide.
   */
  async prefetch(liveDefinitions: readonly unknown[], options: CheckOptions = {}): Promise<void> {
    const registry = this.options.registry;
    if (registry === undefined) return;
    const wanted = new Map<string, { toolId: string; version: string }>();
    for (const live of liveDefinitions) {
      if (this.hasFreshEvidence(live, options)) continue;
      for (const target of bundleTargets(live, options.provider, this.lock)) {
        if (this.source?.get(target.toolId, target.version) !== undefined) continue;
        wanted.set(`${target.toolId}@${target.version}`, target);
      }
    }
    if (wanted.size === 0) return;
    const bundles: ValidatedBundle[] = [];
    const latest = new Map<string, ValidatedBundle>();
    const attested = new Map<string, AttestationClaims>();
    const targets = [...wanted.values()];
    for (let i = 0; i < targets.length; i += MAX_BUNDLE_SET) {
      const chunk = targets.slice(i, i + MAX_BUNDLE_SET);
      const set = await registry.getBundleSet(chunk);
      for (const [key, claims] of await this.verifySet(set)) attested.set(key, claims);
      bundles.push(...set.bundles);
      // the registry says what each `latest` resolved to
      for (const l of set.latest) {
        const bundle = set.bundles.find((b) => b.record.toolId === l.toolId && b.record.version === l.version);
        if (bundle !== undefined) latest.set(l.toolId, bundle);
      }
    }
    this.rememberAttested(attested);
    const byVersion = bundleSource(bundles, semverCompare);
    // Statuses are short-lived (the registry serves them with max-age 30): so is a prefetch.
    this.prefetched.unshift({
      source: {
        get: (toolId, version) => (version === 'latest' ? latest.get(toolId) : byVersion.get(toolId, version)),
        withDefinition: (toolId, digest) => byVersion.withDefinition?.(toolId, digest),
      },
      until: this.now().getTime() + PREFETCH_TTL_MS,
    });
    this.prefetched.length = Math.min(this.prefetched.length, 16); // a bound, whatever the listing rate
  }

  /** Whether the re-check can decide this tool without new evidence (a pin rejection counts: it needs none). */
  private hasFreshEvidence(live: unknown, options: CheckOptions): boolean {
    try {
      return this.recheck(live, options) !== undefined;
    } catch {
      return true;
    }
  }

  private async verifySet(set: ValidatedBundleSet): Promise<AttestedVersions> {
    if (set.attestation === '') return new Map();
    return verifyAttestationSet(set.attestation, this.registryTrust().trustRoot, this.attestationOptions());
  }

  private rememberAttested(versions: AttestedVersions): void {
    if (this.attested.size > 10_000) this.attested.clear();
    for (const [key, claims] of versions) this.attested.set(key, claims);
  }

  private fresh(): BundleSource | undefined {
    const now = this.now().getTime();
    this.prefetched = this.prefetched.filter((p) => p.until > now);
    if (this.prefetched.length === 0) return undefined;
    const sources = this.prefetched.map((p) => p.source);
    return {
      get: (toolId, version) => sources.reduce<ValidatedBundle | undefined>((found, s) => found ?? s.get(toolId, version), undefined),
      withDefinition: (toolId, digest) => sources.reduce<ValidatedBundle | undefined>((found, s) => found ?? s.withDefinition?.(toolId, digest), undefined),
    };
  }

  private attestationOptions(): AttestationOptions {
    return { ...this.options.attestation, now: this.now(), importedKeys: this.importedKeys };
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** The registry's trust root and log; a verifier without them refuses what only the registry could vouch for. */
  private registryTrust(): { trustRoot: TrustRoot; log: StatefulLogChecker } {
    if (this.trustRoot === undefined || this.options.log === undefined)
      throw new VerificationError('UNSIGNED', 'this verifier trusts no registry (SEP-3140 servers only): a tool that is not a signed declaration cannot be verified', {});
    return { trustRoot: this.trustRoot, log: this.options.log };
  }

  /**
   * The digest of a tool exactly as sent (carried manifest included), taken once per object:
   * the object is frozen, all the way down, right after it is digested, so the digest stays
   * true and prefetch, verify and every re-check before a call share it. Code that tries to
   * modify a definition the verifier has seen gets a TypeError rather than an unverified tool.
   * Throws (ProtocolError) for a value with no canonical JSON form.
   */
  private sentDigestOf(live: unknown): string {
    if (typeof live !== 'object' || live === null) return digestOf(live);
    let digest = this.frozenDigests.get(live);
    if (digest === undefined) {
      digest = digestOf(live); // first: a cyclic or non-JSON value throws here, before any freeze
      this.frozenDigests.set(deepFreeze(live), digest);
    }
    return digest;
  }

  /** Step 1 once per object: a tool this verifier checked and froze cannot have changed since. */
  private listedTool(live: unknown): ListedTool {
    if (typeof live === 'object' && live !== null && this.listedTools.has(live)) return live as ListedTool;
    const tool = checkListedTool(live); // the schema bounds the depth before the freeze walks it
    this.listedTools.add(deepFreeze(tool));
    return tool;
  }

  private cacheKey(live: unknown, options: CheckOptions): string {
    // The whole object as sent: a different carried manifest is a different entry.
    return `${this.sentDigestOf(live)}|${options.provider ?? ''}`;
  }

  private decide(evidence: VerifiedEvidence | DeclaredEvidence): PinDecision {
    return decidePin(evidence, {
      lockfile: this.lock,
      newVersion: this.options.newVersion ?? 'reapprove',
      cosmeticUpdates: this.options.cosmeticUpdates ?? 'ask',
      approvedManifest: (toolId, version) => this.manifests.get(`${toolId}@${version}`),
      lookalikeKeys: this.lookalikeKeys,
    });
  }

  /**
   * The signed terms of the version pinned for `evidence`'s tool when it is another version and
   * this verifier has not seen it: from the offline bundles, a prefetch or the registry, in either
   * record format, taken only when its recomputed digest is the pin's `manifestDigest` (the
   * approval names exactly those terms, so no signature is needed to trust them). Lets the change classification compare the definition
   * and the policy; best effort: without it a newer version is asked about (pins.ts).
   */
  private async learnApprovedManifest(evidence: VerifiedEvidence, prefetched: BundleSource | undefined): Promise<void> {
    const pin = this.lock.tools[evidence.toolId];
    if (pin === undefined || pin.version === evidence.version || this.manifests.has(`${pin.toolId}@${pin.version}`)) return;
    let bundle = this.source?.get(pin.toolId, pin.version) ?? prefetched?.get(pin.toolId, pin.version);
    if (bundle === undefined && this.options.registry !== undefined)
      bundle = await this.options.registry.getBundle(pin.toolId, pin.version).catch(() => undefined);
    const approved = bundle === undefined ? undefined : decodeRecordTerms(bundle.record);
    if (approved !== undefined && approved.toolId === pin.toolId && approved.version === pin.version && approved.manifestDigest === pin.manifestDigest)
      this.manifests.set(`${pin.toolId}@${pin.version}`, approved.terms);
  }

  /**
   * Full verification of one live tool (every row of the decision table). Throws
   * VerificationError for a rejection; returns the tool with its pin decision otherwise.
   */
  async verify(liveDefinition: unknown, options: CheckOptions = {}): Promise<VerifiedTool> {
    const { trustRoot, log } = this.registryTrust();
    const before = log.newestCheckpoint()?.treeSize;
    const prefetched = this.fresh();
    // Step 1, then frozen before it is compared with the signed definition, so the verdict stays true.
    const tool = this.listedTool(liveDefinition);
    const known = this.frozenDigests.get(tool);
    const ctx: VerifyContext = {
      trustRoot,
      log,
      lockfile: this.lock,
      attested: this.attestedVersion,
      backend: this.options.ed25519 ?? nodeThreadpoolBackend ?? defaultBackend,
      attestation: this.attestationOptions(),
    };
    if (this.options.registry) ctx.registry = this.options.registry;
    if (this.source) ctx.bundles = this.source;
    if (prefetched) ctx.prefetched = prefetched;
    if (options.provider) ctx.provider = options.provider;
    const evidence = await verifyListedTool(tool, ctx, known);
    // The definition is frozen: its digest stays true.
    if (known === undefined) this.frozenDigests.set(tool, evidence.sentDigest);
    if (this.cache.size > 10_000) {
      this.cache.clear();
      this.cachedNames.clear();
    }
    this.cache.set(`${evidence.sentDigest}|${options.provider ?? ''}`, evidence);
    this.cachedNames.add(evidence.toolName);
    this.manifests.set(`${evidence.toolId}@${evidence.version}`, evidence.manifest);
    await this.learnApprovedManifest(evidence, prefetched);
    const newest = log.newestCheckpoint();
    if (newest !== undefined && newest.treeSize !== before) await this.setLockfile({ ...this.lock, checkpoint: newest });
    return this.withDecision(evidence);
  }

  private async withDecision<E extends VerifiedEvidence | DeclaredEvidence>(evidence: E): Promise<E & { decision: PinDecision }> {
    let decision = this.decide(evidence);
    const rule = this.options.declarations?.riskApproval;
    const trust = rule === undefined ? undefined : toolTrust(evidence);
    if (rule !== undefined && trust !== undefined) {
      const labels = trust.labels;
      const verdict = riskVerdict(decision, labels, rule);
      if (verdict === 'approve') {
        // risk-graduated approval: a tool within the host's first-use tier is pinned without asking
        const pin = toPin(evidence, [], this.now());
        await this.setLockfile({ ...this.lock, tools: { ...this.lock.tools, [pin.toolId]: pin } });
        return { ...evidence, decision: { status: 'approved', pin, auto: 'risk-tier' } };
      }
      if (verdict === 'ask' && decision.status === 'approved' && decision.upgrade !== undefined)
        decision = {
          status: 'needs-approval',
          code: 'NEW_VERSION',
          message: `${evidence.toolId} ${decision.pin.version} -> ${evidence.version}: its trust labels (effect ${labels.effect}, egress ${labels.egress}) are outside the tier approved without asking, so every version is asked about; re-approve to use it`,
          pin: decision.pin,
          changes: decision.upgrade.changes,
        };
    }
    if (decision.status === 'approved' && decision.upgrade !== undefined) {
      // newVersion: 'allow': re-pin the newer version with the permissions already approved.
      const kept = decision.pin.approvedPermissions.filter((p) => evidence.permissions.includes(p));
      const pin = toPin(evidence, kept, this.now());
      await this.setLockfile({ ...this.lock, tools: { ...this.lock.tools, [pin.toolId]: pin } });
      return { ...evidence, decision: { status: 'approved', pin, upgrade: decision.upgrade } };
    }
    return { ...evidence, decision };
  }

  /**
   * The re-check before a call, synchronous: the digest of the live tool, the cached evidence
   * (unexpired attestation) and the pin rows. Returns undefined when there is no fresh cached
   * evidence (call `verify`). Throws for a pin rejection (RUG_PULL, ROLLBACK, ...).
   */
  recheck(liveDefinition: unknown, options: CheckOptions = {}): VerifiedTool | undefined {
    // A tool whose name has no evidence cannot hit the cache: skip its digest (cold listings).
    const name = typeof liveDefinition === 'object' && liveDefinition !== null ? (liveDefinition as { name?: unknown }).name : undefined;
    if (typeof name !== 'string' || !this.cachedNames.has(name)) return undefined;
    const evidence = this.cache.get(this.cacheKey(liveDefinition, options));
    if (evidence === undefined || evidence.expiresAt <= (this.options.now ? this.options.now().getTime() : Date.now())) return undefined;
    // Hot path: the same approved pin object as last time means the same decision (pins are
    // replaced, never mutated), so reuse the result instead of re-deciding.
    const pin = this.lock.tools[evidence.toolId];
    const last = this.approved.get(evidence);
    if (pin !== undefined && last !== undefined && last.decision.status === 'approved' && last.decision.pin === pin) return last;
    const decision = this.decide(evidence);
    if (decision.status === 'approved' && decision.upgrade !== undefined) return undefined; // re-pin happens in verify
    const tool: VerifiedTool = { ...evidence, decision };
    if (decision.status === 'approved') this.approved.set(evidence, tool);
    return tool;
  }

  /** recheck, falling back to a full verification. */
  async check(liveDefinition: unknown, options: CheckOptions = {}): Promise<VerifiedTool> {
    return this.recheck(liveDefinition, options) ?? this.verify(liveDefinition, options);
  }

  /** Whether this verifier checks SEP-3140 signed declarations (ToolVerifierOptions.declarations). */
  get verifiesDeclarations(): boolean {
    return this.options.declarations !== undefined;
  }

  private declarationsOptions(): DeclarationsOptions {
    const d = this.options.declarations;
    if (d === undefined) throw new VerificationError('UNTRUSTED_SIGNER', 'this verifier is not configured for SEP-3140 signed declarations (ToolVerifierOptions.declarations)', {});
    return d;
  }

  /** Discovered keys of a server, fetched again after `discoveryCacheMs` (a failure is not kept). */
  private discoverKeys(serverUri: string): Promise<DiscoveredKeys> {
    const d = this.declarationsOptions();
    const ttl = d.discoveryCacheMs ?? 300_000;
    const now = this.now().getTime();
    const cached = this.discovered.get(serverUri);
    if (cached !== undefined && cached.until > now) return cached.keys;
    const keys = discoverSigningKeys(serverUri, d.fetch);
    if (ttl > 0) {
      if (this.discovered.size > 1_000) this.discovered.clear();
      this.discovered.set(serverUri, { keys, until: now + ttl });
      keys.catch(() => this.discovered.delete(serverUri));
    }
    return keys;
  }

  /**
   * SEP-3140 client steps 1, 2 and 4 for a server's `declarations/manifest` result: the detached
   * JWS by the key its `kid` names in the JWKS discovered from the server's Protected Resource
   * Metadata, `server` equal to `serverUri`, the time window, and the trust policy. Throws
   * VerificationError; the result is what `checkDeclared` checks each tool against.
   */
  async verifyDeclarations(result: unknown, options: { serverUri: string; provider?: string }): Promise<TrustedDeclarations> {
    const d = this.declarationsOptions();
    return verifyDeclarationsManifest(result, {
      serverUri: options.serverUri,
      ...(options.provider !== undefined ? { provider: options.provider } : {}),
      policy: d.trust,
      pins: this.lock,
      firstSeen: this.firstSeen,
      discover: (uri) => this.discoverKeys(uri),
      now: this.now(),
      clockSkewSec: d.clockSkewSec ?? 60,
    });
  }

  /**
   * One listed tool of a SEP-3140 server against its verified manifest (step 3: the recomputed
   * content hash; the trust labels), then the same pin rows as every tool, the host's
   * risk-graduated approval and the cosmetic option. Throws VerificationError for a refusal.
   */
  async checkDeclared(liveDefinition: unknown, trusted: TrustedDeclarations): Promise<DeclaredTool> {
    const d = this.declarationsOptions();
    const tool = this.listedTool(liveDefinition);
    const sentDigest = this.sentDigestOf(tool);
    const key = `${sentDigest}|${trusted.verified.manifestDigest}|${trusted.serverUri}|${trusted.provider}`;
    let evidence = this.declaredCache.get(key);
    if (evidence === undefined || evidence.expiresAt <= this.now().getTime()) {
      evidence = checkDeclaredTool(tool, trusted, { unknownTrustLabels: d.unknownTrustLabels ?? 'refuse', now: this.now(), clockSkewSec: d.clockSkewSec ?? 60, sentDigest });
      if (this.declaredCache.size > 10_000) this.declaredCache.clear();
      this.declaredCache.set(key, evidence);
      this.manifests.set(`${evidence.toolId}@${evidence.version}`, evidence.manifest);
    }
    return this.withDecision(evidence);
  }

  /**
   * Records the user's approval of a verified tool (the host asked them). `permissions`
   * defaults to every declared permission; a subset is allowed. Returns the new pin.
   */
  async approve(tool: VerifiedTool | VerifiedEvidence | DeclaredEvidence, options: { permissions?: readonly string[] } = {}): Promise<LockfilePin> {
    const seen = (e: { toolId: string; manifestDigest: string; definitionDigest: string }): boolean =>
      e.toolId === tool.toolId && e.manifestDigest === tool.manifestDigest && e.definitionDigest === tool.definitionDigest;
    const cached = isDeclaredTool(tool) ? [...this.declaredCache.values()].some(seen) : [...this.cache.values()].some(seen);
    if (!cached) throw new VerificationError('UNKNOWN_TOOL', `approve: ${tool.toolId}@${tool.version} was not verified by this verifier`, { toolId: tool.toolId });
    const pin = toPin(tool, options.permissions ?? tool.permissions, this.now());
    const checkpoint = this.options.log?.newestCheckpoint();
    await this.setLockfile({ ...this.lock, tools: { ...this.lock.tools, [pin.toolId]: pin }, ...(checkpoint ? { checkpoint } : {}) });
    return pin;
  }

  /** Removes an approval (the tool needs approval again). */
  async revokeApproval(toolId: string): Promise<void> {
    if (this.lock.tools[toolId] === undefined) return;
    const { [toolId]: _removed, ...rest } = this.lock.tools;
    await this.setLockfile({ ...this.lock, tools: rest });
  }

  private async setLockfile(next: Lockfile): Promise<void> {
    this.lock = next;
    await this.options.onLockfileChange?.(next);
  }
}
