/** Steps 6 and 7 (docs/VERIFIER.md): who owns the tool, and whether the signer key was revoked. */
import { isSignatureVoid } from '@etdi/protocol';
import type { ToolManifest } from '@etdi/schemas';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError } from '../errors.js';
import type { VerifyContext } from '../evidence.js';

/**
 * Step 6: the manifest's provider owns the tool id (the schema holds toolId = provider/name),
 * the record is for that namespace, and it is the provider the host expects for this server:
 * NAMESPACE_MISMATCH otherwise.
 */
export function checkOwnership(manifest: ToolManifest, bundle: ValidatedBundle, toolId: string, toolName: string, ctx: VerifyContext): void {
  const { record } = bundle;
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
}

/**
 * Step 7: a signature made at or after the signer key's revocation time is worthless (the key
 * may have been compromised from then on); the registry's publication time bounds a back-dated
 * `issuedAt`: KEY_REVOKED.
 */
export function checkKeyRevocation(manifest: ToolManifest, bundle: ValidatedBundle): void {
  const { record, status } = bundle;
  const signerKey = status.signerKey;
  if (signerKey.status !== 'revoked') return;
  const from = signerKey.revokedFrom;
  // the registry's status and `latest` apply the same rule (protocol/key-revocation.ts)
  if (from === undefined || isSignatureVoid(from, { issuedAt: manifest.issuedAt, publishedAt: record.publishedAt }))
    throw new VerificationError(
      'KEY_REVOKED',
      `${record.toolId}@${record.version} is signed by key ${signerKey.keyId}, revoked from ${from ?? '(unknown time)'}${signerKey.reason ? ` (${signerKey.reason})` : ''}; the provider must re-sign with an active key`,
      { toolId: record.toolId, version: record.version, keyId: signerKey.keyId, expected: `issuedAt < ${from}`, got: manifest.issuedAt },
    );
}
