/**
 * What a version signs about its tool, as the pin rows compare it (the verifier's SignedTerms),
 * for either record format. Browser-safe: the server's pages and the browser script both use it.
 */
import type { SignedTerms } from '@etdi/client';
import { isDeclarationRecord, type ToolDefinition, type VersionRecord } from '@etdi/schemas';

/**
 * A SEP-3140 declaration's terms: the declaration less `version` and `contentHash` (they change
 * with every version), no permissions, no policy. The verifier reads it the same way
 * (client-verifier/signed-version.ts declarationTerms, not public API).
 */
export function declarationTerms(declaration: Record<string, unknown>): SignedTerms & { definition: ToolDefinition } {
  const { version: _version, contentHash: _contentHash, ...definition } = declaration;
  return { definition: definition as ToolDefinition, permissions: [] };
}

/** The terms a record signs: its manifest's, or its declaration's. Reads without verifying. */
export function recordTerms(record: VersionRecord): SignedTerms {
  return isDeclarationRecord(record) ? declarationTerms(record.signedDeclaration.declaration) : record.signedManifest.manifest;
}
