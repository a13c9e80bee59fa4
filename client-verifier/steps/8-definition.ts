/** Steps 8 and 9 (docs/VERIFIER.md): the live definition against the signed one, and the version's revocation. */
import type { LockfilePin } from '@etdi/schemas';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError } from '../errors.js';
import type { SignedVersion } from '../signed-version.js';

/**
 * Step 8: the listed tool is the signed definition. The same version pinned with another
 * digest is RUG_PULL (checked first: the same version with other content than approved);
 * otherwise a listed definition other than the signed one is DEFINITION_MISMATCH.
 * `listedDigest` is the digest of the tool as the verified format signs it (listedDigestIn);
 * `signedDefinition` the tool without its carried manifest.
 */
export function checkDefinition(verified: SignedVersion, toolName: string, listedDigest: string, signedDefinition: Record<string, unknown>, pin: LockfilePin | undefined): void {
  const { toolId, version } = verified;
  if (verified.definition.name !== toolName)
    throw new VerificationError('DEFINITION_MISMATCH', `the manifest signs tool "${verified.definition.name}", the server lists "${toolName}"`, {
      toolId,
      expected: verified.definition.name,
      got: toolName,
    });
  if (pin !== undefined && pin.version === version && pin.definitionDigest !== listedDigest)
    throw new VerificationError(
      'RUG_PULL',
      `${toolId}@${version} changed after you approved it (same version, different definition); do not use it and report the provider`,
      { toolId, version, expected: pin.definitionDigest, got: listedDigest },
    );
  if (listedDigest !== verified.definitionDigest)
    throw new VerificationError(
      'DEFINITION_MISMATCH',
      `the server's "${toolName}" differs from the definition ${verified.provider} signed for ${toolId}@${version}`,
      { toolId, version, expected: verified.definitionDigest, got: listedDigest },
    );
  // A SEP-3140 content hash covers every member but itself: the one the tool states must be that
  // hash too (as the direct SEP-3140 path requires), or a host reading it would be told a lie.
  if (verified.format === 'sep3140' && signedDefinition.contentHash !== verified.signedDeclaration.declaration.contentHash)
    throw new VerificationError('DEFINITION_MISMATCH', `"${toolName}" states contentHash ${String(signedDefinition.contentHash)}; its content hashes to ${verified.signedDeclaration.declaration.contentHash}`, {
      toolId,
      version,
      expected: verified.signedDeclaration.declaration.contentHash,
      got: signedDefinition.contentHash,
    });
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
