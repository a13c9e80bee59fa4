/** Steps 8 and 9 (docs/VERIFIER.md): the live definition against the signed one, and the version's revocation. */
import type { LockfilePin } from '@etdi/schemas';
import type { VerifiedManifest } from '@etdi/protocol';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError } from '../errors.js';

/**
 * Step 8: the listed tool is the signed definition. The same version pinned with another
 * digest is RUG_PULL (checked first: the same version with other content than approved);
 * otherwise a listed definition other than the signed one is DEFINITION_MISMATCH.
 * `listedDigest` is the digest of the tool as signed (its carried manifest removed).
 */
export function checkDefinition(verified: VerifiedManifest, toolName: string, listedDigest: string, pin: LockfilePin | undefined): void {
  const { manifest } = verified;
  if (manifest.definition.name !== toolName)
    throw new VerificationError('DEFINITION_MISMATCH', `the manifest signs tool "${manifest.definition.name}", the server lists "${toolName}"`, {
      toolId: manifest.toolId,
      expected: manifest.definition.name,
      got: toolName,
    });
  if (pin !== undefined && pin.version === manifest.version && pin.definitionDigest !== listedDigest)
    throw new VerificationError(
      'RUG_PULL',
      `${manifest.toolId}@${manifest.version} changed after you approved it (same version, different definition); do not use it and report the provider`,
      { toolId: manifest.toolId, version: manifest.version, expected: pin.definitionDigest, got: listedDigest },
    );
  if (listedDigest !== verified.definitionDigest)
    throw new VerificationError(
      'DEFINITION_MISMATCH',
      `the server's "${toolName}" differs from the definition ${manifest.provider} signed for ${manifest.toolId}@${manifest.version}`,
      { toolId: manifest.toolId, version: manifest.version, expected: verified.definitionDigest, got: listedDigest },
    );
}

/** Step 9: the version is not revoked (`status.status`): REVOKED. */
export function checkVersionRevocation(bundle: ValidatedBundle): void {
  const { record, status } = bundle;
  if (status.status === 'revoked')
    throw new VerificationError(
      'REVOKED',
      `${record.toolId}@${record.version} was revoked${status.revocation ? ` on ${status.revocation.revokedAt}: ${status.revocation.reason}` : ''}; update to a version that is not revoked`,
      { toolId: record.toolId, version: record.version, got: 'revoked', revocation: status.revocation },
    );
}
