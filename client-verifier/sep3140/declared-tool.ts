/**
 * SEP-3140 client step 3 for one listed tool: its declaration members, its entry in the verified
 * manifest, its recomputed `contentHash`, and its trust labels. The result speaks the pins'
 * vocabulary (tool id, semver version, `sha256:` digests, RFC 7638 signer), so the same pin rows
 * decide it (pins.ts) as for the project's own manifests.
 */
import { DeclarationFieldsSchema, type DeclarationEntry } from '@etdi/schemas';
import { checkSchema, contentHashOf, declarationEntryDigest, digestOfContentHash, toPinVersion } from '@etdi/protocol';
import { VerificationError } from '../errors.js';
import type { PinDecision, SignedTerms } from '../pins.js';
import { declarationTerms } from '../signed-version.js';
import type { EvidenceBase } from '../evidence.js';
import type { ListedTool } from '../steps/1-listed-tool.js';
import { decodeTrustLabels, type EffectiveTrustLabels, type TrustLabelName } from './trust-labels.js';
import type { TrustBasis } from './trust-policy.js';
import { checkValidityWindow, type TrustedDeclarations } from './verify-manifest.js';

/** What a SEP-3140 tool's verification proved, beyond what the pin rows read. */
export interface DeclarationFacts {
  serverUri: string;
  publisher: string;
  trustBasis: TrustBasis;
  /** The publisher's name of the signing key (JWS `kid`) and where its JWKS is. */
  kid: string;
  jwksUri: string;
  /** The version as the server declares it (`"3"`); `version` of the evidence is its semver form. */
  version: string;
  contentHash: string;
  /** The labels as this client reads them: absent and (with `unknownTrustLabels: 'most-restrictive'`) unknown ones at their most restrictive. */
  trust: EffectiveTrustLabels;
  /** The labels the tool declared in the vocabulary. */
  trustDeclared: TrustLabelName[];
  /** Members of its trust block outside the vocabulary (empty unless read as most restrictive). */
  unknownTrustLabels: string[];
  /** `sha256:` digest of JCS of the whole capability manifest. */
  capabilityManifestDigest: string;
}

/** The verified evidence of a SEP-3140 tool: the pin rows' subject, and the declaration's facts. */
export interface DeclaredEvidence extends EvidenceBase {
  /** The declared version in semver form (`"3"` → `"3.0.0"`): what pins compare. */
  version: string;
  /** `sha256:` hex of the same bytes as the declaration's `contentHash`. */
  definitionDigest: string;
  /** `sha256:` digest of the tool's entry in the manifest with the publisher (declarationEntryDigest). */
  manifestDigest: string;
  /** What the pin rows compare: the declaration less `version` and `contentHash`; no permissions, no policy. */
  manifest: SignedTerms;
  /** Milliseconds since the epoch at which the manifest expires (clock skew included): verify again after it. */
  expiresAt: number;
  declaration: DeclarationFacts;
}

/** A SEP-3140 tool that passed every check; `decision` says whether it may be called now. */
export interface DeclaredTool extends DeclaredEvidence {
  decision: PinDecision;
}

/** True for a SEP-3140 tool verified from its own server (a registry-verified one has `signedDeclaration`, no `declaration`). */
export function isDeclaredTool<T extends object>(tool: T): tool is T & DeclaredEvidence {
  return 'declaration' in tool;
}

export interface DeclaredToolOptions {
  /** `refuse` (default): UNKNOWN_TRUST_LABEL; `most-restrictive`: read as the SEP says, and reported. */
  unknownTrustLabels: 'refuse' | 'most-restrictive';
  now: Date;
  clockSkewSec: number;
  sentDigest: string;
}

/** The declaration members SEP-3140 requires when `declarations.signed` is negotiated (SCHEMA_INVALID). */
export function checkDeclarationFields(tool: ListedTool): { version: string; contentHash: string; trust?: Record<string, unknown> } {
  try {
    return checkSchema(DeclarationFieldsSchema, tool, `declaration "${tool.name}"`);
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `${(cause as Error).message} (a server that negotiates signed declarations gives every tool a version and a contentHash)`, { toolName: tool.name }, { cause });
  }
}

/** The tool's entry in the verified manifest: a tool the manifest does not list is not signed (UNSIGNED). */
export function findManifestEntry(trusted: TrustedDeclarations, toolName: string): DeclarationEntry {
  const entry = trusted.verified.manifest.tools.find((t) => t.name === toolName);
  if (entry === undefined)
    throw new VerificationError('UNSIGNED', `the capability manifest of ${trusted.serverUri} does not list "${toolName}": nothing signs it`, { toolName, serverUri: trusted.serverUri });
  return entry;
}

/**
 * Step 3: the content hash recomputed from the tool as listed (JCS + SHA-256, `contentHash`
 * left out) is the manifest's, and so are the version and the tool's own `contentHash` member.
 * A description changed without a new signed manifest fails here: DEFINITION_MISMATCH.
 */
export function checkContentHash(tool: ListedTool, fields: { version: string; contentHash: string }, entry: DeclarationEntry, toolId: string): string {
  let recomputed: string;
  try {
    recomputed = contentHashOf(tool);
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `tool "${tool.name}" is not canonical JSON: ${(cause as Error).message}`, { toolName: tool.name }, { cause });
  }
  if (recomputed !== entry.contentHash)
    throw new VerificationError('DEFINITION_MISMATCH', `the server's "${tool.name}" is not the declaration its capability manifest signs (content hash differs); do not use it`, {
      toolId,
      expected: entry.contentHash,
      got: recomputed,
    });
  if (fields.contentHash !== recomputed || fields.version !== entry.version)
    throw new VerificationError('DEFINITION_MISMATCH', `"${tool.name}" states version ${fields.version} and ${fields.contentHash}; the manifest signs version ${entry.version}, ${entry.contentHash}`, {
      toolId,
      expected: { version: entry.version, contentHash: entry.contentHash },
      got: { version: fields.version, contentHash: fields.contentHash },
    });
  return recomputed;
}

/** The trust labels: a value outside the vocabulary is UNKNOWN_TRUST_LABEL unless the host reads it as most restrictive. */
export function checkTrustLabels(tool: ListedTool, trust: unknown, mode: 'refuse' | 'most-restrictive', toolId: string): ReturnType<typeof decodeTrustLabels> {
  const decoded = decodeTrustLabels(trust);
  if (decoded.unknown.length > 0 && mode === 'refuse')
    throw new VerificationError('UNKNOWN_TRUST_LABEL', `"${tool.name}" declares trust labels outside SEP-3140's vocabulary (${decoded.unknown.join(', ')}); refused (a host may read them as most restrictive: unknownTrustLabels 'most-restrictive')`, {
      toolId,
      got: decoded.unknown,
    });
  return decoded;
}

/** Step 3 and the labels for one listed tool of a server whose manifest passed steps 1, 2 and 4. */
export function checkDeclaredTool(tool: ListedTool, trusted: TrustedDeclarations, options: DeclaredToolOptions): DeclaredEvidence {
  checkValidityWindow(trusted, options.now, options.clockSkewSec); // still valid now (a held manifest expires)
  const toolId = `${trusted.provider}/${tool.name}`;
  const fields = checkDeclarationFields(tool);
  const entry = findManifestEntry(trusted, tool.name);
  const contentHash = checkContentHash(tool, fields, entry, toolId);
  const labels = checkTrustLabels(tool, fields.trust, options.unknownTrustLabels, toolId);
  const { verified } = trusted;
  return {
    toolId,
    toolName: tool.name,
    version: toPinVersion(entry.version),
    provider: trusted.provider,
    signerKeyId: verified.keyId,
    definitionDigest: digestOfContentHash(contentHash),
    manifestDigest: declarationEntryDigest(trusted.publisher, entry),
    manifest: declarationTerms(tool),
    permissions: [],
    definition: tool,
    sentDigest: options.sentDigest,
    expiresAt: trusted.expiresAt + options.clockSkewSec * 1000,
    declaration: {
      serverUri: trusted.serverUri,
      publisher: trusted.publisher,
      trustBasis: trusted.trustBasis,
      kid: verified.kid,
      jwksUri: trusted.jwksUri,
      version: entry.version,
      contentHash,
      trust: labels.labels,
      trustDeclared: labels.declared,
      unknownTrustLabels: labels.unknown,
      capabilityManifestDigest: verified.manifestDigest,
    },
  };
}
