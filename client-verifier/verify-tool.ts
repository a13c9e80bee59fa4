/**
 * The cold verification of one listed tool, as the numbered steps of docs/VERIFIER.md. Each
 * step is one function in steps/, named for what it checks; this file only calls them in turn.
 */
import { sameJson, toSignedDefinition } from '@etdi/protocol';
import type { VerifiedEvidence, VerifiedTool, VerifyContext } from './evidence.js';
import { decidePin } from './pins.js';
import { listedDigestIn, type SignedFormat } from './signed-version.js';
import { checkListedTool, listedDigestOf, type ListedTool } from './steps/1-listed-tool.js';
import { locateManifest } from './steps/2-manifest.js';
import { resolveBundle } from './steps/3-bundle.js';
import { checkPublished, verifySignature } from './steps/4-signature.js';
import { checkKeyRevocation, checkOwnership } from './steps/6-signer.js';
import { checkDefinition, checkVersionRevocation } from './steps/8-definition.js';
import { checkLogged } from './steps/10-log.js';
import { startAttestation } from './steps/11-attestation.js';

/**
 * Steps 1-11 for one live tool: returns the verified evidence, or throws VerificationError. The
 * pin rows (step 12, pins.ts) are decided separately so that evidence can be cached.
 */
export async function verifyEvidence(liveDefinition: unknown, ctx: VerifyContext): Promise<VerifiedEvidence> {
  return verifyListedTool(checkListedTool(liveDefinition), ctx);
}

/** Steps 1-12: the full decision for one live tool. */
export async function verifyTool(liveDefinition: unknown, ctx: VerifyContext): Promise<VerifiedTool> {
  const evidence = await verifyEvidence(liveDefinition, ctx);
  return { ...evidence, decision: decidePin(evidence, ctx) };
}

/**
 * Steps 2-11 for a tool that passed step 1. `sentDigest` is the digest of the tool exactly as
 * sent when the caller (ToolVerifier, which froze the tool after taking it) already has it.
 * (Package-internal: not in index.ts.)
 */
export async function verifyListedTool(tool: ListedTool, ctx: VerifyContext, sentDigest?: string): Promise<VerifiedEvidence> {
  try {
    return await verifySteps(tool, ctx, sentDigest);
  } catch (error) {
    // A tool with no canonical form is refused for that first (SCHEMA_INVALID), whichever step
    // failed: the happy path does not serialise the tool, so look now.
    if (sentDigest === undefined) listedDigestOf(tool, tool.name);
    throw error;
  }
}

async function verifySteps(tool: ListedTool, ctx: VerifyContext, sentDigest: string | undefined): Promise<VerifiedEvidence> {
  const toolName = tool.name;
  // The digests of the tool as each format signs it (its carried manifest removed), each taken
  // only when a step needs it: a tool that is the signed definition (sameJson) has the verified
  // digest, and in our format a tool that carries no manifest is digested as sent.
  const signedDefinition = toSignedDefinition(tool);
  const digests: Partial<Record<SignedFormat, string>> = {};
  if (signedDefinition === tool && sentDigest !== undefined) digests.etdi = sentDigest;
  const listedDigest = (format: SignedFormat): string => (digests[format] ??= listedDigestIn(format, signedDefinition, toolName));

  const location = locateManifest(tool, ctx); // 2. the manifest, carried or resolved
  const found = await resolveBundle(location, signedDefinition, listedDigest, ctx); // 3. the bundle
  const { bundle } = found;
  const attestation = startAttestation(bundle, ctx); // 11, started now to overlap 4-10
  const signed = await verifySignature(location.carried, bundle, ctx); // 4. signature (either format)
  checkPublished(signed, bundle, toolName); // 5. the published version
  checkOwnership(signed, bundle, location.toolId, toolName, ctx); // 6. ownership
  checkKeyRevocation(signed, bundle); // 7. key revocation
  if (digests[signed.format] === undefined && (found.listsSigned ?? sameJson(signedDefinition, signed.definition))) digests[signed.format] = signed.definitionDigest;
  checkDefinition(signed, toolName, listedDigest(signed.format), signedDefinition, ctx.lockfile?.tools[location.toolId]); // 8. rug pull, definition
  checkVersionRevocation(bundle); // 9. version revocation
  await checkLogged(bundle, ctx); // 10. log
  const claims = await attestation; // 11. attestation

  const manifestSource: VerifiedEvidence['manifestSource'] = location.carried !== undefined ? 'meta' : found.source;
  const evidence = {
    toolId: location.toolId,
    toolName,
    version: signed.version,
    provider: signed.provider,
    signerKeyId: signed.keyId,
    definitionDigest: signed.definitionDigest,
    manifestDigest: signed.manifestDigest,
    permissions: [...signed.terms.permissions],
    definition: tool,
    // in our format the digest of a tool that carries no manifest is the digest as sent
    sentDigest: sentDigest ?? (signedDefinition === tool ? listedDigest('etdi') : listedDigestOf(tool, toolName)),
    bundle,
    expiresAt: claims.exp * 1000,
    manifestSource,
  };
  return signed.format === 'etdi'
    ? { ...evidence, manifest: signed.manifest, signedManifest: signed.signedManifest }
    : { ...evidence, manifest: signed.terms, signedDeclaration: signed.signedDeclaration };
}
