/**
 * The signed document a version row stores (`versions.signed_manifest`): JCS of our own signed
 * manifest (POST /v1/tools) or of a SEP-3140 signed declaration (POST /v1/declarations). Both are
 * canonical JSON written by the registry itself, so their keys are sorted and the first one names
 * the format: `declaration` sorts before `manifest`, which our own format starts with.
 */
import { canonicalManifest, parseStrictJson, sha256Digest, signedDeclarationDigests } from '@etdi/protocol';
import type { SignedDeclaration, SignedManifest } from '@etdi/schemas';

export const isStoredDeclaration = (stored: string): boolean => stored.startsWith('{"declaration":');

/** The stored document as its record member: `signedManifest` or `signedDeclaration`. */
export function recordMemberOf(stored: string): 'signedManifest' | 'signedDeclaration' {
  return isStoredDeclaration(stored) ? 'signedDeclaration' : 'signedManifest';
}

/**
 * What a version's status reads of its stored document, in one parse: the signing time (every
 * format's manifest has an `issuedAt`: key revocation compares it) and the permissions its
 * attestation names (the manifest's; none for a SEP-3140 declaration).
 */
export function storedTerms(stored: string): { issuedAt: string; permissions: string[] } {
  const { manifest } = JSON.parse(stored) as { manifest: { issuedAt: string; permissions?: string[] } };
  return { issuedAt: manifest.issuedAt, permissions: isStoredDeclaration(stored) ? [] : manifest.permissions! };
}

/**
 * The digests a stored document hashes to, recomputed from its content (fsck compares them with
 * the row and the log leaf), or undefined when it is no longer a document of its format.
 */
export function storedDigests(stored: string): { manifest: string; definition: string } | undefined {
  try {
    const document = parseStrictJson(stored);
    if (isStoredDeclaration(stored)) {
      const digests = signedDeclarationDigests(document as unknown as SignedDeclaration);
      return { manifest: digests.manifestDigest, definition: digests.definitionDigest };
    }
    // the bytes the publish path digests: one canonicalisation gives both
    const { manifestBytes, definitionBytes } = canonicalManifest((document as unknown as SignedManifest).manifest);
    return { manifest: sha256Digest(manifestBytes), definition: sha256Digest(definitionBytes) };
  } catch {
    return undefined;
  }
}
