/**
 * The two formats a registry record vouches for a version in (schemas/registry-api.ts
 * VersionRecord): the project's own signed manifest, or one tool of a SEP-3140 capability
 * manifest published to the registry. Step 4 reduces either to a SignedVersion, the terms steps
 * 5-11 and the pins read, so that both formats go through one sequence of steps.
 */
import {
  isDeclarationRecord,
  MANIFEST_META_KEY,
  type SignedDeclaration,
  type SignedManifest,
  type ToolManifest,
  type VersionRecord,
} from '@etdi/schemas';
import { contentHashOf, digestOfContentHash, manifestDigest, publisherNamespace, signedDeclarationDigests, toPinVersion } from '@etdi/protocol';
import { VerificationError } from './errors.js';
import type { SignedTerms } from './pins.js';
import { listedDigestOf } from './steps/1-listed-tool.js';

/** `etdi`: our signed manifest (POST /v1/tools); `sep3140`: a SEP-3140 declaration (POST /v1/declarations). */
export type SignedFormat = 'etdi' | 'sep3140';

/** What a verified signature vouches for about one version, whatever its format. */
interface SignedVersionTerms {
  toolId: string;
  version: string;
  provider: string;
  /** When the signer says it signed (step 7 compares it with the key's revocation). */
  issuedAt: string;
  /** The definition a server lists: the manifest's `definition`, or the declaration itself. */
  definition: Record<string, unknown> & { name: string };
  /** What the pin rows compare (definition, permissions, policy). */
  terms: SignedTerms;
  /** RFC 7638 thumbprint of the key whose signature verified. */
  keyId: string;
  definitionDigest: string;
  manifestDigest: string;
}

/** A version whose signature step 4 verified, in the terms the later steps read. */
export type SignedVersion = SignedVersionTerms &
  ({ format: 'etdi'; manifest: ToolManifest; signedManifest: SignedManifest } | { format: 'sep3140'; signedDeclaration: SignedDeclaration });

export const formatOf = (record: VersionRecord): SignedFormat => (isDeclarationRecord(record) ? 'sep3140' : 'etdi');

/** What pins compare of a SEP-3140 declaration: everything but `version` and `contentHash`, which change with every version; no permissions, no policy. */
export function declarationTerms(declaration: Record<string, unknown>): SignedTerms {
  const { version: _version, contentHash: _contentHash, ...definition } = declaration;
  return { definition: definition as SignedTerms['definition'], permissions: [] };
}

/**
 * The definition a record signs, read WITHOUT verifying anything: step 3 only uses it to select
 * the version a listed tool is (the steps after verify that version in full).
 */
export function decodeSignedDefinition(record: VersionRecord): Record<string, unknown> {
  return isDeclarationRecord(record) ? record.signedDeclaration.declaration : record.signedManifest.manifest.definition;
}

/**
 * The digest of a listed tool in a format's terms, what that format's `definitionDigest` is
 * compared with (step 8). `etdi`: JCS of the tool as signed (its carried manifest removed);
 * `sep3140`: the hex form of the recomputed content hash (JCS of the declaration without its
 * `contentHash`). SCHEMA_INVALID for a tool with no canonical form.
 */
export function listedDigestIn(format: SignedFormat, signedDefinition: Record<string, unknown>, toolName: string): string {
  if (format === 'etdi') return listedDigestOf(signedDefinition, toolName);
  try {
    return digestOfContentHash(contentHashOf(signedDefinition));
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `tool "${toolName}" is not canonical JSON: ${(cause as Error).message}`, { toolName }, { cause });
  }
}

/**
 * A version of a record as a server would list it, to verify a registry version like a live tool
 * (etdi approve, audit, diff): our format's definition carrying its signed manifest in `_meta`,
 * or the SEP-3140 declaration itself (verify it with the record's provider: it carries nothing
 * that names its namespace). Nothing is verified here; the verifier does it in full.
 */
export function toListedTool(record: VersionRecord): Record<string, unknown> {
  if (isDeclarationRecord(record)) return record.signedDeclaration.declaration;
  const signed = record.signedManifest;
  const definition = signed.manifest.definition as Record<string, unknown>;
  const meta = (definition._meta ?? {}) as Record<string, unknown>;
  return { ...definition, _meta: { ...meta, [MANIFEST_META_KEY]: signed } };
}

/** The terms a record signs, as the pin rows compare them: its manifest's, or its declaration's. Reads without verifying. */
export function recordTerms(record: VersionRecord): SignedTerms {
  return isDeclarationRecord(record) ? declarationTerms(record.signedDeclaration.declaration) : record.signedManifest.manifest;
}

/**
 * The tool id, version, manifest digest and terms of a record, read and recomputed WITHOUT
 * verifying its signature: for a pin's approved version, whose `manifestDigest` the caller
 * compares with the pin's (the approval names exactly those terms). Undefined for a declaration
 * that is not the one its manifest lists, or whose publisher names no namespace.
 */
export function decodeRecordTerms(record: VersionRecord): { toolId: string; version: string; manifestDigest: string; terms: SignedTerms } | undefined {
  if (!isDeclarationRecord(record)) {
    const { manifest } = record.signedManifest;
    return { toolId: manifest.toolId, version: manifest.version, manifestDigest: manifestDigest(manifest), terms: manifest };
  }
  const signed = record.signedDeclaration;
  const namespace = publisherNamespace(signed.manifest.publisher);
  if (namespace === undefined) return undefined;
  try {
    const { entry, manifestDigest: digest } = signedDeclarationDigests(signed);
    return { toolId: `${namespace}/${signed.declaration.name}`, version: toPinVersion(entry.version), manifestDigest: digest, terms: declarationTerms(signed.declaration) };
  } catch {
    return undefined;
  }
}
