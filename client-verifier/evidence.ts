import type { AttestationClaims, LogEvidence, SignedDeclaration, SignedManifest, ToolManifest, VersionBundle } from '@etdi/schemas';
import type { Ed25519Backend } from '@etdi/protocol';
import type { AttestationOptions } from './attestation.js';
import type { BundleSource } from './bundles.js';
import type { PinContext, PinDecision, PinSubject, SignedTerms } from './pins.js';
import type { RegistryClient } from './registry-client.js';
import type { TrustRoot } from './trust-root.js';

/**
 * How the verifier checks log inclusion: built from the log helper's functions by
 * createLogChecker (log-check.ts). Throws VerificationError NOT_LOGGED / LOG_INCONSISTENT.
 */
export interface LogChecker {
  checkInclusion(leafData: Uint8Array, evidence: LogEvidence): Promise<void>;
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
}

/**
 * What every verified tool carries, whatever vouched for it (a registry manifest, or a SEP-3140
 * declaration): what the pin rows decide on, and the tool as the server sent it.
 */
export interface EvidenceBase extends PinSubject {
  signerKeyId: string;
  permissions: string[];
  /** The definition exactly as the server sent it (including any carried manifest). */
  definition: Record<string, unknown>;
  /** `sha256:` digest of JCS(the tool exactly as sent): the re-check's cache key. */
  sentDigest: string;
  /** Milliseconds since the epoch after which the evidence must be verified again. */
  expiresAt: number;
}

/**
 * What a registry-path verification proved, whatever the record's format: independent of the
 * lockfile, cacheable until `expiresAt` (the attestation's).
 */
interface RegistryEvidence extends EvidenceBase {
  /** `sha256:` digest of the signed definition (as its format defines it): what pins hold and live servers are compared to. */
  definitionDigest: string;
  /** The bundle the evidence came from (record, status, attestation, log proof). */
  bundle: VersionBundle;
  /** Whether the manifest came from the tool's `_meta` or was resolved from the registry/bundles. */
  manifestSource: 'meta' | 'registry' | 'bundle';
}

/** A tool vouched for by our own signed manifest (published with POST /v1/tools). */
export interface ManifestEvidence extends RegistryEvidence {
  manifest: ToolManifest;
  signedManifest: SignedManifest;
}

/**
 * A SEP-3140 tool vouched for by the registry (its declaration published with POST
 * /v1/declarations): the namespace key's JWS, the log, revocation and the attestation, as for
 * our manifests. Tell it apart with `'signedDeclaration' in evidence`; a SEP-3140 tool verified
 * from its own server instead is a DeclaredEvidence (isDeclaredTool).
 */
export interface PublishedDeclarationEvidence extends RegistryEvidence {
  /** What the pin rows compare: the declaration less `version` and `contentHash`; no permissions, no policy. */
  manifest: SignedTerms;
  /** The capability manifest, its JWS and this tool's declaration, as the registry serves them. */
  signedDeclaration: SignedDeclaration;
}

/** The cryptographic part of a registry-path verification, in either format. */
export type VerifiedEvidence = ManifestEvidence | PublishedDeclarationEvidence;

/** A tool that passed every check; `decision` says whether it may be called now. */
export type VerifiedTool = VerifiedEvidence & { decision: PinDecision };
