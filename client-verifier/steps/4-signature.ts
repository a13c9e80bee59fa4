/** Steps 4 and 5 (docs/VERIFIER.md): the signature, and the manifest the registry published. */
import type { SignedManifest } from '@etdi/schemas';
import { ProtocolError, jwkThumbprint, verifyManifestSignature, type VerifiedManifest } from '@etdi/protocol';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError, type VerificationErrorCode } from '../errors.js';
import type { VerifyContext } from '../evidence.js';

const FROM_PROTOCOL: Partial<Record<string, VerificationErrorCode>> = {
  UNSIGNED: 'UNSIGNED',
  UNKNOWN_SIGNER: 'UNTRUSTED_SIGNER',
  INVALID_KEY: 'UNTRUSTED_SIGNER',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
};
const ADVICE: Record<string, string> = {
  UNSIGNED: 'the provider must sign and publish it',
  UNTRUSTED_SIGNER: 'it is not signed by the key the registry lists for its namespace',
  BAD_SIGNATURE: 'the manifest was altered after signing',
  SCHEMA_INVALID: 'the manifest is malformed',
};

/**
 * Step 4: the manifest's signature by the key the record names as signer, and only that key,
 * whose `jwk` must have that thumbprint. Signed by any other key (another provider's valid key
 * included): UNTRUSTED_SIGNER; altered bytes: BAD_SIGNATURE.
 */
export async function verifySignature(signed: SignedManifest, bundle: ValidatedBundle, ctx: VerifyContext): Promise<VerifiedManifest> {
  const { record, status } = bundle;
  const signerKey = status.signerKey;
  if (signerKey.keyId !== record.signerKeyId || jwkThumbprint(signerKey.jwk) !== signerKey.keyId)
    throw new VerificationError('UNTRUSTED_SIGNER', `the key evidence for ${record.toolId}@${record.version} names another key than the record`, {
      toolId: record.toolId,
      expected: record.signerKeyId,
      got: signerKey.keyId,
    });
  try {
    return await verifyManifestSignature(signed, (kid) => (kid === signerKey.keyId ? signerKey.jwk : undefined), ctx.backend);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    const code = FROM_PROTOCOL[error.code] ?? 'SCHEMA_INVALID';
    throw new VerificationError(
      code,
      `${record.toolId}@${record.version}: ${error.message} (${ADVICE[code] ?? ''})`,
      { toolId: record.toolId, version: record.version, protocolCode: error.code },
      { cause: error },
    );
  }
}

/**
 * Step 5: the verified manifest is the one the registry published for that version (same
 * manifest digest: a carried manifest signed outside the registry, or a forged copy, was never
 * logged), and the record's definition digest is the verified one: NOT_LOGGED otherwise.
 */
export function checkPublished(verified: VerifiedManifest, bundle: ValidatedBundle, toolName: string): void {
  const { record } = bundle;
  if (verified.manifestDigest !== record.manifestDigest)
    throw new VerificationError(
      'NOT_LOGGED',
      `the manifest "${toolName}" carries is not the one the registry published for ${record.toolId}@${record.version}; refuse it`,
      { toolId: record.toolId, version: record.version, expected: record.manifestDigest, got: verified.manifestDigest },
    );
  if (verified.definitionDigest !== record.definitionDigest)
    throw new VerificationError('NOT_LOGGED', `the registry record of ${record.toolId}@${record.version} names another definition digest`, {
      toolId: record.toolId,
      expected: verified.definitionDigest,
      got: record.definitionDigest,
    });
}
