/** Steps 4 and 5 (docs/VERIFIER.md): the signature, and the version the registry published. */
import { isDeclarationRecord, type DeclarationRecord, type SignedManifest } from '@etdi/schemas';
import { ProtocolError, jwkThumbprint, publisherNamespace, signedDeclarationDigests, toPinVersion, verifyDeclarationsSignature, verifyManifestSignature } from '@etdi/protocol';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError, type VerificationErrorCode } from '../errors.js';
import type { VerifyContext } from '../evidence.js';
import { declarationTerms, type SignedVersion } from '../signed-version.js';

const FROM_PROTOCOL: Partial<Record<string, VerificationErrorCode>> = {
  UNSIGNED: 'UNSIGNED',
  UNKNOWN_SIGNER: 'UNTRUSTED_SIGNER',
  INVALID_KEY: 'UNTRUSTED_SIGNER',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  DEFINITION_MISMATCH: 'DEFINITION_MISMATCH',
};
const ADVICE: Record<string, string> = {
  UNSIGNED: 'the provider must sign and publish it',
  UNTRUSTED_SIGNER: 'it is not signed by the key the registry lists for its namespace',
  BAD_SIGNATURE: 'the manifest was altered after signing, or another key signed it',
  DEFINITION_MISMATCH: 'the declaration is not the one its signed manifest lists',
  SCHEMA_INVALID: 'the manifest is malformed',
};

/** A protocol refusal as the verifier's, naming the version. */
function refusal(error: unknown, bundle: ValidatedBundle): never {
  if (!(error instanceof ProtocolError)) throw error;
  const { record } = bundle;
  const code = FROM_PROTOCOL[error.code] ?? 'SCHEMA_INVALID';
  throw new VerificationError(
    code,
    `${record.toolId}@${record.version}: ${error.message} (${ADVICE[code] ?? ''})`,
    { toolId: record.toolId, version: record.version, protocolCode: error.code },
    { cause: error },
  );
}

/**
 * A SEP-3140 declaration the registry published: the detached JWS over JCS(manifest) by the
 * namespace key the status names (whatever the publisher called it in the JWS `kid`: the registry
 * matched that name to this key when it accepted the publish), the declaration being the one the
 * manifest lists (its recomputed content hash), and the tool id its publisher's namespace names.
 */
async function verifyPublishedDeclaration(record: DeclarationRecord, bundle: ValidatedBundle): Promise<SignedVersion> {
  const signerKey = bundle.status.signerKey;
  const signedDeclaration = record.signedDeclaration;
  const { manifest, signature, declaration } = signedDeclaration;
  let verified: Awaited<ReturnType<typeof verifyDeclarationsSignature>>;
  let digests: ReturnType<typeof signedDeclarationDigests>;
  try {
    verified = await verifyDeclarationsSignature({ manifest, signature }, (kid) => ({ ...signerKey.jwk, kid }));
    digests = signedDeclarationDigests(signedDeclaration);
  } catch (error) {
    refusal(error, bundle);
  }
  // the publisher's URI names the namespace (the registry's rule): nothing else may claim its tools
  const provider = publisherNamespace(manifest.publisher);
  if (provider === undefined)
    throw new VerificationError('NAMESPACE_MISMATCH', `the capability manifest of ${record.toolId}@${record.version} names publisher ${manifest.publisher}, whose host names no namespace`, {
      toolId: record.toolId,
      expected: record.provider,
      got: manifest.publisher,
    });
  return {
    format: 'sep3140',
    toolId: `${provider}/${declaration.name}`,
    version: toPinVersion(digests.entry.version),
    provider,
    issuedAt: manifest.issuedAt,
    definition: declaration,
    terms: declarationTerms(declaration),
    keyId: verified.keyId,
    definitionDigest: digests.definitionDigest,
    manifestDigest: digests.manifestDigest,
    signedDeclaration,
  };
}

/**
 * Step 4: the signature by the key the record names as signer, and only that key, whose `jwk`
 * must have that thumbprint: the manifest the tool carries (`carried`), else the record's signed
 * manifest or SEP-3140 declaration. Signed by any other key (another provider's valid key
 * included): UNTRUSTED_SIGNER for our manifests (their signatures name their key), BAD_SIGNATURE
 * for a SEP-3140 JWS; altered bytes: BAD_SIGNATURE; a declaration that is not the one its
 * manifest lists: DEFINITION_MISMATCH.
 */
export async function verifySignature(carried: SignedManifest | undefined, bundle: ValidatedBundle, ctx: VerifyContext): Promise<SignedVersion> {
  const { record, status } = bundle;
  const signerKey = status.signerKey;
  if (signerKey.keyId !== record.signerKeyId || jwkThumbprint(signerKey.jwk) !== signerKey.keyId)
    throw new VerificationError('UNTRUSTED_SIGNER', `the key evidence for ${record.toolId}@${record.version} names another key than the record`, {
      toolId: record.toolId,
      expected: record.signerKeyId,
      got: signerKey.keyId,
    });
  if (carried !== undefined) return verifyManifest(carried, bundle, ctx);
  return isDeclarationRecord(record) ? verifyPublishedDeclaration(record, bundle) : verifyManifest(record.signedManifest, bundle, ctx);
}

/** Our signed manifest: its signatures name their key (RFC 7638 thumbprint), and only the status's key may be the one. */
async function verifyManifest(signed: SignedManifest, bundle: ValidatedBundle, ctx: VerifyContext): Promise<SignedVersion> {
  const signerKey = bundle.status.signerKey;
  try {
    const verified = await verifyManifestSignature(signed, (kid) => (kid === signerKey.keyId ? signerKey.jwk : undefined), ctx.backend);
    const { manifest } = verified;
    return {
      format: 'etdi',
      toolId: manifest.toolId,
      version: manifest.version,
      provider: manifest.provider,
      issuedAt: manifest.issuedAt,
      definition: manifest.definition,
      terms: manifest,
      keyId: verified.keyId,
      definitionDigest: verified.definitionDigest,
      manifestDigest: verified.manifestDigest,
      manifest,
      signedManifest: verified.signedManifest,
    };
  } catch (error) {
    refusal(error, bundle);
  }
}

/**
 * Step 5: the verified version is the one the registry published (same manifest digest: a
 * carried manifest signed outside the registry, or a forged copy, was never logged), and the
 * record names its definition digest and version: NOT_LOGGED otherwise.
 */
export function checkPublished(verified: SignedVersion, bundle: ValidatedBundle, toolName: string): void {
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
  if (verified.version !== record.version)
    throw new VerificationError('NOT_LOGGED', `the registry record of ${record.toolId} names version ${record.version}, its signature version ${verified.version}`, {
      toolId: record.toolId,
      expected: verified.version,
      got: record.version,
    });
}
