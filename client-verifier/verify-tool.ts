import {
  LIMITS,
  LOG_EVENT_TYPE,
  MANIFEST_META_KEY,
  BundleSetSchema,
  MAX_BUNDLE_SET,
  ToolDefinitionSchema,
  ToolIdSchema,
  VersionBundleSchema,
  VersionSchema,
  type BundleSet,
  type Lockfile,
  type LockfilePin,
  type LogEvidence,
  type SignedManifest,
  type ToolManifest,
  type VersionBundle,
  type VersionRecord,
  type AttestationClaims,
} from '@etdi/schemas';
import {
  ProtocolError,
  canonicalBytes,
  checkSchema,
  decodeSignedManifest,
  digestOf,
  sameJson,
  jwkThumbprint,
  parseStrictJson,
  toSignedDefinition,
  verifyManifestSignature,
  type Ed25519Backend,
  type VerifiedManifest,
} from '@etdi/protocol';
import { acceptsBundleSet } from './bundle-check.js';
import { checkAttestedClaims, expectedAttestation, verifyAttestation, type AttestationOptions } from './attestation.js';
import { VerificationError, type VerificationErrorCode } from './errors.js';
import type { TrustRoot } from './trust-root.js';
import type { RegistryClient } from './registry-client.js';
import { decidePin, type PinDecision, type PinContext } from './pins.js';

/**
 * How the verifier checks log inclusion: built from the log helper's functions by
 * createLogChecker (log-check.ts). Throws VerificationError NOT_LOGGED / LOG_INCONSISTENT.
 */
export interface LogChecker {
  checkInclusion(leafData: Uint8Array, evidence: LogEvidence): Promise<void>;
}

/** Where bundles come from when the host verifies offline (no registry at invocation time). */
export interface BundleSource {
  /** The bundle of `toolId` at `version`, or the newest one for `latest`; undefined when absent. */
  get(toolId: string, version: string): VersionBundle | undefined;
  /** The newest bundle of `toolId` whose signed definition has `definitionDigest` (which version a server lists). */
  withDefinition?(toolId: string, definitionDigest: string): VersionBundle | undefined;
}

/** Everything the cold verification needs. */
export interface VerifyContext extends PinContext {
  trustRoot: TrustRoot;
  log: LogChecker;
  /** Online resolution of bundles by tool id (and `latest`). */
  registry?: RegistryClient;
  /** Offline bundles; consulted before the registry. */
  bundles?: BundleSource;
  /** Bundles fetched from the registry moments ago (ToolVerifier.prefetch); consulted before asking again. */
  prefetched?: BundleSource;
  /**
   * The provider (namespace) the host expects this server's tools from. Used to resolve a tool
   * that carries no manifest, and checked against the one that signed (NAMESPACE_MISMATCH).
   */
  provider?: string;
  attestation?: AttestationOptions;
  /**
   * Versions vouched for by an attestation set already verified (ToolVerifier.addBundleSet,
   * prefetch): their claims are matched instead of a per-version token being verified.
   */
  attested?: (toolId: string, version: string) => AttestationClaims | undefined;
  /** The Ed25519 implementation for manifest signatures (default: protocol's defaultBackend). */
  backend?: Ed25519Backend;
  /**
   * `sha256:` digest of JCS(the live definition as sent), when the caller already took it over
   * an object that cannot have changed since (ToolVerifier freezes it); computed otherwise.
   */
  sentDigest?: string;
}

/** The cryptographic part of a verification: independent of the lockfile, cacheable until `expiresAt`. */
export interface VerifiedEvidence {
  toolId: string;
  toolName: string;
  version: string;
  provider: string;
  signerKeyId: string;
  /** `sha256:` digest of JCS(the signed definition): what pins hold and live servers are compared to. */
  definitionDigest: string;
  manifestDigest: string;
  manifest: ToolManifest;
  signedManifest: SignedManifest;
  permissions: string[];
  /** The definition exactly as the server sent it (including any carried manifest). */
  definition: Record<string, unknown>;
  /** `sha256:` digest of JCS(the tool exactly as sent, carried manifest included): the re-check's cache key. */
  sentDigest: string;
  /** The bundle the evidence came from (record, status, attestation, log proof). */
  bundle: VersionBundle;
  /** Milliseconds since the epoch at which the attestation expires: re-verify after it. */
  expiresAt: number;
  /** Whether the manifest came from the tool's `_meta` or was resolved from the registry/bundles. */
  manifestSource: 'meta' | 'registry' | 'bundle';
}

/** A tool that passed every check; `decision` says whether it may be called now. */
export interface VerifiedTool extends VerifiedEvidence {
  decision: PinDecision;
}

/**
 * Bundles already checked against VersionBundleSchema at the edge (decodeBundle, the registry
 * client): the schema walk is the costliest non-crypto step, so it runs once per document.
 */
const validatedBundles = new WeakSet<object>();

/** Marks a bundle as schema-checked (the registry client checks what it fetched). */
export function markValidatedBundle(bundle: VersionBundle): VersionBundle {
  validatedBundles.add(bundle);
  return bundle;
}

/**
 * Decodes a bundle document (JSON text or bytes, e.g. a file a host ships for offline use):
 * strict I-JSON, size cap, schema. It verifies nothing: verification happens per tool.
 */
export function decodeBundle(input: string | Uint8Array): VersionBundle {
  let value: unknown;
  try {
    value = parseStrictJson(input, { maxBytes: LIMITS.maxManifestBytes * 2 });
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `the bundle is not strict I-JSON: ${(cause as Error).message}`, {}, { cause });
  }
  try {
    return markValidatedBundle(checkSchema(VersionBundleSchema, value, 'version bundle') as VersionBundle);
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', (cause as Error).message, { issues: cause instanceof ProtocolError ? cause.issues : [] }, { cause });
  }
}

/** Decodes a bundle set (JSON text or bytes: a host's offline file, BundleSetSchema). Verifies nothing; see ToolVerifier.addBundleSet. */
export function decodeBundleSet(input: string | Uint8Array): BundleSet {
  let value: unknown;
  try {
    value = parseStrictJson(input, { maxBytes: LIMITS.maxManifestBytes * 2 * MAX_BUNDLE_SET });
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `the bundle set is not strict I-JSON: ${(cause as Error).message}`, {}, { cause });
  }
  let set: BundleSet;
  // The allocation-free acceptance first (one-sided: zod decides, and names the path, whenever it says no).
  if (acceptsBundleSet(value)) set = value as BundleSet;
  else
    try {
      set = checkSchema(BundleSetSchema, value, 'bundle set') as BundleSet;
    } catch (cause) {
      throw new VerificationError('SCHEMA_INVALID', (cause as Error).message, { issues: cause instanceof ProtocolError ? cause.issues : [] }, { cause });
    }
  for (const bundle of set.bundles) markValidatedBundle(bundle);
  return set;
}

const keyOfVersion = (toolId: string, version: string): string => `${toolId}@${version}`;

/** Maps a ProtocolError of the signature step to the decision table's codes. */
function fromProtocol(error: unknown, toolId: string, version: string): never {
  if (error instanceof ProtocolError) {
    const map: Partial<Record<string, VerificationErrorCode>> = {
      UNSIGNED: 'UNSIGNED',
      UNKNOWN_SIGNER: 'UNTRUSTED_SIGNER',
      INVALID_KEY: 'UNTRUSTED_SIGNER',
      BAD_SIGNATURE: 'BAD_SIGNATURE',
    };
    const code = map[error.code] ?? 'SCHEMA_INVALID';
    const advice: Record<string, string> = {
      UNSIGNED: 'the provider must sign and publish it',
      UNTRUSTED_SIGNER: 'it is not signed by the key the registry lists for its namespace',
      BAD_SIGNATURE: 'the manifest was altered after signing',
      SCHEMA_INVALID: 'the manifest is malformed',
    };
    throw new VerificationError(code, `${toolId}@${version}: ${error.message} (${advice[code] ?? ''})`, { toolId, version, protocolCode: error.code }, { cause: error });
  }
  throw error;
}

/** The leaf the log must contain for a published version (schemas/log.ts, JCS bytes). */
export function versionPublishedLeaf(record: VersionRecord): Uint8Array {
  // Members in canonical (sorted) order: canonicalBytes then serialises without sorting a copy.
  return canonicalBytes({
    actor: record.publishedBy,
    at: record.publishedAt,
    definitionDigest: record.definitionDigest,
    kind: 'version.published',
    manifestDigest: record.manifestDigest,
    namespace: record.provider,
    signerKeyId: record.signerKeyId,
    toolId: record.toolId,
    type: LOG_EVENT_TYPE,
    version: record.version,
  });
}

/** Reads the carried manifest from `_meta` without verifying it (decode, then verified below). */
function decodeCarried(live: Record<string, unknown>, toolName: string): SignedManifest | undefined {
  const meta = live._meta as Record<string, unknown> | undefined;
  if (meta === undefined || !Object.hasOwn(meta, MANIFEST_META_KEY)) return undefined;
  try {
    return decodeSignedManifest(meta[MANIFEST_META_KEY]);
  } catch (cause) {
    throw new VerificationError(
      'SCHEMA_INVALID',
      `tool "${toolName}" carries a malformed signed manifest in _meta["${MANIFEST_META_KEY}"]: ${(cause as Error).message}`,
      { toolName },
      { cause },
    );
  }
}

type FoundBundle = { bundle: VersionBundle; source: 'registry' | 'bundle' };

async function fetchBundle(ctx: VerifyContext, toolId: string, version: string): Promise<FoundBundle | undefined> {
  const offline = ctx.bundles?.get(toolId, version);
  if (offline !== undefined) return { bundle: offline, source: 'bundle' };
  const prefetched = ctx.prefetched?.get(toolId, version);
  if (prefetched !== undefined) return { bundle: prefetched, source: 'registry' };
  if (ctx.registry === undefined) return undefined;
  try {
    return { bundle: await ctx.registry.getBundle(toolId, version), source: 'registry' };
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'UNKNOWN_TOOL') return undefined;
    throw error;
  }
}

/** The namespace an uncarried tool is resolved in: the host's provider for the server, or that of the single pin with this name. */
function ownerOf(toolName: string, provider: string | undefined, lockfile: Lockfile | undefined): string | undefined {
  const pinned = lockfile ? Object.values(lockfile.tools).filter((p) => p.toolId.endsWith(`/${toolName}`)) : [];
  return provider ?? (pinned.length === 1 ? pinned[0]!.provider : undefined);
}

/**
 * The bundles a live tool's verification will ask for (ToolVerifier.prefetch): its carried
 * manifest's version, or `latest` in its namespace (and the pinned version, for a server still
 * on it). Lenient: a malformed tool yields nothing here, and verifyEvidence reports it.
 */
export function bundleTargets(live: unknown, provider: string | undefined, lockfile: Lockfile | undefined): { toolId: string; version: string }[] {
  const name = live !== null && typeof live === 'object' ? (live as { name?: unknown }).name : undefined;
  if (typeof name !== 'string') return [];
  const meta = (live as { _meta?: unknown })._meta;
  const targets: { toolId: string; version: string }[] = [];
  if (meta !== null && typeof meta === 'object' && Object.hasOwn(meta, MANIFEST_META_KEY)) {
    const manifest = ((meta as Record<string, unknown>)[MANIFEST_META_KEY] as { manifest?: { toolId?: unknown; version?: unknown } } | null)?.manifest;
    if (typeof manifest?.toolId === 'string' && typeof manifest.version === 'string') targets.push({ toolId: manifest.toolId, version: manifest.version });
  } else {
    const owner = ownerOf(name, provider, lockfile);
    if (owner !== undefined) {
      const toolId = `${owner}/${name}`;
      targets.push({ toolId, version: 'latest' });
      const pin = lockfile?.tools[toolId];
      if (pin !== undefined) targets.push({ toolId, version: pin.version });
    }
  }
  return targets.filter((t) => ToolIdSchema.safeParse(t.toolId).success && (t.version === 'latest' || VersionSchema.safeParse(t.version).success));
}

/**
 * The cold verification of one live tool (DESIGN.md decision table, rows 1-4, 10-13, 16):
 * manifest (carried or resolved), signature by the namespace's key, key revocation, live digest,
 * version revocation, log inclusion and the attestation. Returns the evidence; the pin rows are
 * decided separately (pins.ts) so that evidence can be cached.
 */
export async function verifyEvidence(liveDefinition: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
  const live = checkLiveDefinition(liveDefinition);
  try {
    return await verifyChecked(live, ctx);
  } catch (error) {
    // A tool with no canonical form is refused for that before anything else, as it always
    // was: the happy path no longer serialises it up front (verifyChecked), so look now.
    if (ctx.sentDigest === undefined) liveDigestOf(live, live.name as string);
    throw error;
  }
}

/** Definitions that passed checkLiveDefinition and were frozen right after (freezeLiveDefinition): still valid. */
const frozenDefinitions = new WeakSet<object>();

/** The live tool against ToolDefinitionSchema (SCHEMA_INVALID otherwise); returns it as given. */
function checkLiveDefinition(liveDefinition: unknown): Record<string, unknown> {
  if (typeof liveDefinition === 'object' && liveDefinition !== null && frozenDefinitions.has(liveDefinition)) return liveDefinition as Record<string, unknown>;
  try {
    return checkSchema(ToolDefinitionSchema, liveDefinition, 'tool definition') as Record<string, unknown>;
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `the server listed an invalid tool: ${(cause as Error).message}`, {}, { cause });
  }
}

/** Freezes a JSON value and everything in it; returns it. */
export function deepFreeze<T>(value: T): T {
  // No shortcut on an already frozen object: a shallow freeze by someone else leaves its children mutable.
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Checks a live tool (SCHEMA_INVALID otherwise) and deep-freezes it, so that what is verified
 * next is what the host keeps: a definition cannot change between its check, its comparison
 * with the signed one and the call (ToolVerifier). The schema bounds the depth before the walk.
 */
export function freezeLiveDefinition(liveDefinition: unknown): Record<string, unknown> {
  const live = checkLiveDefinition(liveDefinition);
  if (!frozenDefinitions.has(live)) frozenDefinitions.add(deepFreeze(live));
  return live;
}

/** `sha256:` digest of JCS(value), or SCHEMA_INVALID: a tool with no canonical form (RFC 8785 3.1: lone surrogates, non-finite numbers, undefined members). */
function liveDigestOf(value: unknown, toolName: string): string {
  try {
    return digestOf(value);
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `tool "${toolName}" is not canonical JSON: ${(cause as Error).message}`, { toolName }, { cause });
  }
}

/**
 * The published version of `toolId` whose signed definition has `definitionDigest`, from the
 * offline bundles, a prefetch, or the registry (`?definitionDigest=`). Best effort: a registry
 * that cannot answer leaves the caller's verdict as it was. Whatever it finds is verified in full.
 */
async function bundleWithDefinition(ctx: VerifyContext, toolId: string, definitionDigest: string): Promise<FoundBundle | undefined> {
  const offline = ctx.bundles?.withDefinition?.(toolId, definitionDigest);
  if (offline !== undefined) return { bundle: offline, source: 'bundle' };
  const prefetched = ctx.prefetched?.withDefinition?.(toolId, definitionDigest);
  if (prefetched !== undefined) return { bundle: prefetched, source: 'registry' };
  if (ctx.registry === undefined) return undefined;
  try {
    const [newest] = await ctx.registry.findVersions(toolId, definitionDigest);
    return newest === undefined ? undefined : { bundle: await ctx.registry.getBundle(toolId, newest), source: 'registry' };
  } catch (error) {
    if (error instanceof VerificationError) return undefined;
    throw error;
  }
}

/**
 * The published version a server that carries no manifest lists, when its definition is not the
 * resolved version's (`latest`): the pinned version (a server still on it while the registry has
 * a newer one: no silent upgrade, no false alarm), else any other with the live definition's
 * digest (an older one after a rollback: the pin rows then say ROLLBACK, not a changed
 * definition). It only selects: the record must name that digest (a registry cannot steer the
 * verdict with another), and the caller verifies what it finds in full. Undefined when there is
 * none: the resolved version stays, and with it DEFINITION_MISMATCH or RUG_PULL.
 */
async function listedVersion(ctx: VerifyContext, toolId: string, resolved: string, pin: LockfilePin | undefined, digest: string): Promise<FoundBundle | undefined> {
  if (pin !== undefined && pin.version !== resolved) {
    const pinned = await fetchBundle(ctx, toolId, pin.version);
    if (pinned?.bundle.record.definitionDigest === digest) return pinned;
  }
  const other = await bundleWithDefinition(ctx, toolId, digest);
  return other !== undefined && other.bundle.record.version !== resolved && other.bundle.record.definitionDigest === digest ? other : undefined;
}

async function verifyChecked(live: Record<string, unknown>, ctx: VerifyContext): Promise<VerifiedEvidence> {
  const toolName = live.name as string;
  // The digest of the definition as signed (the carried manifest removed) is taken only when
  // needed: a tool that is the signed definition (sameJson, below) has the verified digest.
  const signedDefinition = toSignedDefinition(live);
  let knownLiveDigest = signedDefinition === live ? ctx.sentDigest : undefined;
  const liveDigest = (): string => (knownLiveDigest ??= liveDigestOf(signedDefinition, toolName));
  const carried = decodeCarried(live, toolName);

  // Which tool id: the carried manifest says; otherwise the host's provider for this server,
  // or the provider of the single pin with this tool name.
  let toolId: string;
  let version: string;
  if (carried !== undefined) {
    toolId = carried.manifest.toolId;
    version = carried.manifest.version;
  } else {
    const provider = ownerOf(toolName, ctx.provider, ctx.lockfile);
    if (provider === undefined)
      throw new VerificationError(
        'UNSIGNED',
        `tool "${toolName}" carries no signed manifest and no provider is configured to resolve it from the registry; configure the server's provider or refuse the tool`,
        { toolName, expected: `_meta["${MANIFEST_META_KEY}"] or a configured provider` },
      );
    toolId = `${provider}/${toolName}`;
    version = 'latest';
  }

  let found = await fetchBundle(ctx, toolId, version);
  if (found === undefined)
    throw new VerificationError(
      'UNSIGNED',
      `no signed manifest for ${toolId}@${version}: ${carried ? 'the registry never published the manifest the server carries' : 'the registry has no such tool'}${ctx.registry ? '' : ' (offline: no bundle given)'}`,
      { toolId, version, toolName },
    );
  let bundle = checkBundle(found.bundle, toolId, carried === undefined ? undefined : version);
  const pin: LockfilePin | undefined = ctx.lockfile?.tools[toolId];
  // Without a carried manifest, whether the live tool is the definition the resolved version
  // signs (sameJson: nothing serialised; the manifest verified below is this record's, so the
  // answer stands for it); when it is not, the version the server does list (listedVersion).
  let listsResolved: boolean | undefined;
  if (carried === undefined) {
    listsResolved = sameJson(signedDefinition, bundle.record.signedManifest.manifest.definition);
    const other = listsResolved ? undefined : await listedVersion(ctx, toolId, bundle.record.version, pin, liveDigest());
    if (other !== undefined) {
      found = other;
      bundle = checkBundle(other.bundle, toolId, other.bundle.record.version);
    }
  }
  const { record, status } = bundle;
  // Start the attestation check now: jose verifies with WebCrypto, which runs off the main
  // thread, so its latency overlaps the signature, log and pin checks below. Its expectations
  // come from the record, whose digests are checked equal to the verified manifest's before the
  // result is used; an earlier failure wins (the promise is then ignored, never left unhandled).
  const fromSet = ctx.attested?.(record.toolId, record.version);
  const attestation =
    fromSet !== undefined
      ? Promise.resolve().then(() => checkAttestedClaims(fromSet, expectedAttestation(record), ctx.attestation))
      : verifyAttestation(status.attestation, ctx.trustRoot, expectedAttestation(record), ctx.attestation);
  attestation.catch(() => undefined);

  const signed = carried ?? record.signedManifest;

  // Signer: the key the registry's evidence names for this version, and only that key.
  const signerKey = status.signerKey;
  if (signerKey.keyId !== record.signerKeyId || jwkThumbprint(signerKey.jwk) !== signerKey.keyId)
    throw new VerificationError('UNTRUSTED_SIGNER', `the key evidence for ${toolId}@${record.version} names another key than the record`, {
      toolId,
      expected: record.signerKeyId,
      got: signerKey.keyId,
    });
  let verified: VerifiedManifest;
  try {
    verified = await verifyManifestSignature(signed, (kid) => (kid === signerKey.keyId ? signerKey.jwk : undefined), ctx.backend);
  } catch (error) {
    fromProtocol(error, toolId, record.version);
  }
  const manifest = verified.manifest;
  // A carried manifest must be the one the registry published for that version: otherwise it
  // was never logged (a provider key used outside the registry, or a forged copy).
  if (verified.manifestDigest !== record.manifestDigest)
    throw new VerificationError(
      'NOT_LOGGED',
      `the manifest "${toolName}" carries is not the one the registry published for ${toolId}@${record.version}; refuse it`,
      { toolId, version: record.version, expected: record.manifestDigest, got: verified.manifestDigest },
    );

  // Ownership: the manifest's provider owns the tool id (schema: toolId = provider/name), the
  // record is for that namespace, and it is the provider the host expects for this server.
  if (manifest.toolId !== toolId || manifest.provider !== record.provider || record.provider !== toolId.slice(0, toolId.indexOf('/')))
    throw new VerificationError('NAMESPACE_MISMATCH', `the manifest of ${manifest.toolId} is not owned by namespace ${record.provider}`, {
      toolId,
      expected: record.provider,
      got: manifest.provider,
    });
  if (ctx.provider !== undefined && manifest.provider !== ctx.provider)
    throw new VerificationError(
      'NAMESPACE_MISMATCH',
      `tool "${toolName}" is signed by namespace ${manifest.provider}, but this server is configured as ${ctx.provider}; it is not the provider you connected to`,
      { toolId, toolName, expected: ctx.provider, got: manifest.provider },
    );
  if (manifest.definition.name !== toolName)
    throw new VerificationError('DEFINITION_MISMATCH', `the manifest signs tool "${manifest.definition.name}", the server lists "${toolName}"`, {
      toolId,
      expected: manifest.definition.name,
      got: toolName,
    });
  if (verified.definitionDigest !== record.definitionDigest)
    throw new VerificationError('NOT_LOGGED', `the registry record of ${toolId}@${record.version} names another definition digest`, {
      toolId,
      expected: verified.definitionDigest,
      got: record.definitionDigest,
    });

  // Key revocation: a signature made at or after the revocation time is worthless (the key
  // may have been compromised from then on). The registry's publication time bounds a
  // back-dated issuedAt.
  if (signerKey.status === 'revoked') {
    const from = signerKey.revokedFrom;
    if (from === undefined || Date.parse(from) <= Date.parse(manifest.issuedAt) || Date.parse(from) <= Date.parse(record.publishedAt))
      throw new VerificationError(
        'KEY_REVOKED',
        `${toolId}@${record.version} is signed by key ${signerKey.keyId}, revoked from ${from ?? '(unknown time)'}${signerKey.reason ? ` (${signerKey.reason})` : ''}; the provider must re-sign with an active key`,
        { toolId, version: record.version, keyId: signerKey.keyId, expected: `issuedAt < ${from}`, got: manifest.issuedAt },
      );
  }

  // The signature verified over manifest.definition: the same JSON value has its digest.
  if (knownLiveDigest === undefined && (listsResolved ?? sameJson(signedDefinition, manifest.definition))) knownLiveDigest = verified.definitionDigest;
  // Rug pull before definition mismatch: the same version with another content than approved.
  if (pin !== undefined && pin.version === manifest.version && pin.definitionDigest !== liveDigest())
    throw new VerificationError(
      'RUG_PULL',
      `${toolId}@${manifest.version} changed after you approved it (same version, different definition); do not use it and report the provider`,
      { toolId, version: manifest.version, expected: pin.definitionDigest, got: liveDigest() },
    );
  if (liveDigest() !== verified.definitionDigest)
    throw new VerificationError(
      'DEFINITION_MISMATCH',
      `the server's "${toolName}" differs from the definition ${manifest.provider} signed for ${toolId}@${manifest.version}`,
      { toolId, version: manifest.version, expected: verified.definitionDigest, got: liveDigest() },
    );

  if (status.status === 'revoked')
    throw new VerificationError(
      'REVOKED',
      `${toolId}@${record.version} was revoked${status.revocation ? ` on ${status.revocation.revokedAt}: ${status.revocation.reason}` : ''}; update to a version that is not revoked`,
      { toolId, version: record.version, got: 'revoked', revocation: status.revocation },
    );

  // The record must be in the log the host trusts (split view / stealth publication defence).
  if (status.log.leafIndex !== record.leafIndex || status.log.inclusionProof.leafIndex !== record.leafIndex)
    throw new VerificationError('NOT_LOGGED', `the log evidence of ${toolId}@${record.version} is for leaf ${status.log.leafIndex}, the record says ${record.leafIndex}`, {
      toolId,
      expected: record.leafIndex,
      got: status.log.leafIndex,
    });
  await ctx.log.checkInclusion(versionPublishedLeaf(record), status.log);

  // The manifest that verified is the record's (same manifest digest, checked above), so the
  // record-derived expectations of the attestation are the verified manifest's.
  const claims = await attestation;

  return {
    toolId,
    toolName,
    version: manifest.version,
    provider: manifest.provider,
    signerKeyId: verified.keyId,
    definitionDigest: verified.definitionDigest,
    manifestDigest: verified.manifestDigest,
    manifest,
    signedManifest: signed,
    permissions: [...manifest.permissions],
    definition: live,
    sentDigest: ctx.sentDigest ?? (signedDefinition === live ? liveDigest() : liveDigestOf(live, toolName)),
    bundle,
    expiresAt: claims.exp * 1000,
    manifestSource: carried !== undefined ? 'meta' : found.source,
  };
}

/** Checks a bundle's shape and that it is the one asked for (an answer for another tool is refused). */
function checkBundle(bundle: VersionBundle, toolId: string, version: string | undefined): VersionBundle {
  if (!validatedBundles.has(bundle)) {
    try {
      checkSchema(VersionBundleSchema, bundle, 'version bundle');
    } catch (cause) {
      throw new VerificationError('SCHEMA_INVALID', (cause as Error).message, { toolId }, { cause });
    }
    validatedBundles.add(bundle);
  }
  const { record, status } = bundle;
  if (record.toolId !== toolId || status.toolId !== toolId || status.version !== record.version || (version !== undefined && record.version !== version))
    throw new VerificationError('SCHEMA_INVALID', `the bundle answered for ${record.toolId}@${record.version}, not ${toolId}@${version ?? 'latest'}`, {
      expected: keyOfVersion(toolId, version ?? 'latest'),
      got: keyOfVersion(record.toolId, record.version),
    });
  return bundle;
}

/** Cold verification plus the pin rows: the full decision for one live tool. */
export async function verifyTool(liveDefinition: unknown, ctx: VerifyContext): Promise<VerifiedTool> {
  const evidence = await verifyEvidence(liveDefinition, ctx);
  return { ...evidence, decision: decidePin(evidence, ctx) };
}

/** An offline bundle source over a list of bundles (`latest` = highest semver). */
export function bundleSource(bundles: Iterable<VersionBundle>, compare: (a: string, b: string) => number): BundleSource {
  const byKey = new Map<string, VersionBundle>();
  const latest = new Map<string, VersionBundle>();
  const newest = (map: Map<string, VersionBundle>, key: string, b: VersionBundle): void => {
    const current = map.get(key);
    if (current === undefined || compare(b.record.version, current.record.version) > 0) map.set(key, b);
  };
  for (const b of bundles) {
    byKey.set(keyOfVersion(b.record.toolId, b.record.version), b);
    newest(latest, b.record.toolId, b);
  }
  // Only a server listing another version than the one resolved asks this: indexed on first use.
  let byDefinition: Map<string, VersionBundle> | undefined;
  return {
    get: (toolId, version) => (version === 'latest' ? latest.get(toolId) : byKey.get(keyOfVersion(toolId, version))),
    withDefinition: (toolId, definitionDigest) => {
      if (byDefinition === undefined) {
        byDefinition = new Map();
        for (const b of byKey.values()) newest(byDefinition, `${b.record.toolId}|${b.record.definitionDigest}`, b);
      }
      return byDefinition.get(`${toolId}|${definitionDigest}`);
    },
  };
}
