/** Steps 6 and 7 (docs/VERIFIER.md): who owns the tool, and whether the signer key was revoked. */
import { isSignatureVoid } from '@etdi/protocol';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError } from '../errors.js';
import type { VerifyContext } from '../evidence.js';
import type { SignedVersion } from '../signed-version.js';

/**
 * Step 6: the signed provider owns the tool id (our manifest's schema holds toolId =
 * provider/name; a SEP-3140 tool's namespace is its publisher URI's), the record is for that
 * namespace, and it is the provider the host expects for this server: NAMESPACE_MISMATCH otherwise.
 */
export function checkOwnership(signed: SignedVersion, bundle: ValidatedBundle, toolId: string, toolName: string, ctx: VerifyContext): void {
  const { record } = bundle;
  if (signed.toolId !== toolId || signed.provider !== record.provider || record.provider !== toolId.slice(0, toolId.indexOf('/')))
    throw new VerificationError('NAMESPACE_MISMATCH', `the manifest of ${signed.toolId} is not owned by namespace ${record.provider}`, {
      toolId,
      expected: record.provider,
      got: signed.provider,
    });
  if (ctx.provider !== undefined && signed.provider !== ctx.provider)
    throw new VerificationError(
      'NAMESPACE_MISMATCH',
      `tool "${toolName}" is signed by namespace ${signed.provider}, but this server is configured as ${ctx.provider}; it is not the provider you connected to`,
      { toolId, toolName, expected: ctx.provider, got: signed.provider },
    );
}

/**
 * Step 7: a signature made at or after the signer key's revocation time is worthless (the key
 * may have been compromised from then on); the registry's publication time bounds a back-dated
 * `issuedAt`: KEY_REVOKED.
 */
export function checkKeyRevocation(signed: SignedVersion, bundle: ValidatedBundle): void {
  const { record, status } = bundle;
  const signerKey = status.signerKey;
  if (signerKey.status !== 'revoked') return;
  const from = signerKey.revokedFrom;
  // the registry's status and `latest` apply the same rule (protocol/key-revocation.ts)
  if (from === undefined || isSignatureVoid(from, { issuedAt: signed.issuedAt, publishedAt: record.publishedAt }))
    throw new VerificationError(
      'KEY_REVOKED',
      `${record.toolId}@${record.version} is signed by key ${signerKey.keyId}, revoked from ${from ?? '(unknown time)'}${signerKey.reason ? ` (${signerKey.reason})` : ''}; the provider must re-sign with an active key`,
      { toolId: record.toolId, version: record.version, keyId: signerKey.keyId, expected: `issuedAt < ${from}`, got: signed.issuedAt },
    );
}
