/**
 * The SEP-3140 capability manifest, verified as the SEP's "Client verification and trust policy"
 * says, one named step each: 1. the detached JWS against the key of the discovered JWKS named
 * by `kid`; 2. `server` equal to the canonical server URI, and the time window; 4. the trust
 * policy. (Step 3, each used declaration's `contentHash`, is per tool: declared-tool.ts.)
 */
import type { Lockfile, SignedDeclarationsManifest } from '@etdi/schemas';
import { ProtocolError, decodeSignedDeclarations, publisherNamespace, verifyDeclarationsSignature, type VerifiedDeclarations } from '@etdi/protocol';
import { VerificationError } from '../errors.js';
import { canonicalServerUri, sameResource, type DiscoveredKeys } from './discovery.js';
import { checkPublisherTrust, type FirstSeenKeys, type PublisherTrustPolicy, type TrustBasis } from './trust-policy.js';

/** A manifest that passed steps 1, 2 and 4: what every declaration of the server is checked against. */
export interface TrustedDeclarations {
  /** The canonical server URI the manifest is bound to. */
  serverUri: string;
  publisher: string;
  /** The namespace the publisher's tools are pinned under (tool id `<provider>/<name>`). */
  provider: string;
  trustBasis: TrustBasis;
  jwksUri: string;
  verified: VerifiedDeclarations;
  /** The window, in ms since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

export interface ManifestContext {
  /** The canonical URI of the server the manifest came from (host configuration or the transport's URL). */
  serverUri: string;
  /** The host's provider (namespace) for this server, when configured. */
  provider?: string;
  policy: PublisherTrustPolicy;
  pins: Lockfile;
  firstSeen: FirstSeenKeys;
  /** The publisher's keys (discovery.ts); called after the manifest is decoded. */
  discover: (serverUri: string) => Promise<DiscoveredKeys>;
  now: Date;
  clockSkewSec: number;
}

/** A ProtocolError of the protocol layer as the verifier's error with the same code. */
function asVerificationError(error: unknown): unknown {
  if (!(error instanceof ProtocolError)) return error;
  const code = error.code === 'UNKNOWN_SIGNER' || error.code === 'BAD_SIGNATURE' ? error.code : error.code === 'INVALID_KEY' ? 'UNKNOWN_SIGNER' : 'SCHEMA_INVALID';
  return new VerificationError(code, `the capability manifest: ${error.message}`, { protocolCode: error.code, issues: error.issues }, { cause: error });
}

/** Step 1: the JWS over JCS(manifest), by the key of the JWKS its `kid` names. */
export async function verifyManifestSignature(signed: SignedDeclarationsManifest, keys: DiscoveredKeys): Promise<VerifiedDeclarations> {
  try {
    return await verifyDeclarationsSignature(signed, keys.keyOf);
  } catch (error) {
    throw asVerificationError(error);
  }
}

/** Step 2: `server` is the canonical URI of the server it came from (no cross-server replay). */
export function checkAudience(verified: VerifiedDeclarations, serverUri: string): void {
  if (!sameResource(verified.manifest.server, serverUri))
    throw new VerificationError('WRONG_SERVER', `the capability manifest is for ${verified.manifest.server}, not for this server (${serverUri}): a manifest replayed from another server`, {
      expected: serverUri,
      got: verified.manifest.server,
    });
}

/** Step 2: `issuedAt` not in the future and `expiresAt` not past, each with the clock skew allowed. */
export function checkValidityWindow(window: { issuedAt: number; expiresAt: number }, now: Date, clockSkewSec: number): void {
  const skew = clockSkewSec * 1000;
  if (window.issuedAt > now.getTime() + skew)
    throw new VerificationError('ISSUED_IN_FUTURE', `the capability manifest is issued at ${new Date(window.issuedAt).toISOString()}, in the future; check the clocks`, {
      expected: `<= ${now.toISOString()}`,
      got: new Date(window.issuedAt).toISOString(),
    });
  if (window.expiresAt <= now.getTime() - skew)
    throw new VerificationError('MANIFEST_EXPIRED', `the capability manifest expired at ${new Date(window.expiresAt).toISOString()}; the server must serve a freshly signed one`, {
      expected: `> ${now.toISOString()}`,
      got: new Date(window.expiresAt).toISOString(),
    });
}

/** The namespace of the publisher's tools: the host's configured provider must agree with the publisher's domain. */
function providerOf(publisher: string, configured: string | undefined): string {
  const derived = publisherNamespace(publisher);
  if (configured !== undefined && derived !== undefined && configured !== derived)
    throw new VerificationError('NAMESPACE_MISMATCH', `this server's tools must come from ${configured}; the manifest's publisher ${publisher} is ${derived}`, {
      expected: configured,
      got: derived,
    });
  const provider = configured ?? derived;
  if (provider === undefined)
    throw new VerificationError('SCHEMA_INVALID', `the publisher ${publisher} has no DNS name to name its tools by; configure this server's provider (namespace)`, { got: publisher });
  return provider;
}

/**
 * Steps 1, 2 and 4 for one `declarations/manifest` result. The manifest is decoded before any
 * request is made for it; keys are discovered from the server's metadata, never from the manifest.
 */
export async function verifyDeclarationsManifest(result: unknown, ctx: ManifestContext): Promise<TrustedDeclarations> {
  const serverUri = canonicalServerUri(ctx.serverUri);
  let signed: SignedDeclarationsManifest;
  try {
    signed = decodeSignedDeclarations(result); // shape first: nothing is fetched for a malformed answer
  } catch (error) {
    throw asVerificationError(error);
  }
  const keys = await ctx.discover(serverUri);
  const verified = await verifyManifestSignature(signed, keys); // 1
  checkAudience(verified, serverUri); // 2
  const window = { issuedAt: Date.parse(verified.manifest.issuedAt), expiresAt: Date.parse(verified.manifest.expiresAt) };
  checkValidityWindow(window, ctx.now, ctx.clockSkewSec); // 2
  // Not in the SEP's list, but its binding: metadata that names a publisher names the one that signs.
  const named = keys.metadata.mcp_publisher;
  if (named !== undefined && named !== verified.manifest.publisher)
    throw new VerificationError('UNTRUSTED_SIGNER', `the server's metadata names publisher ${named}; the manifest says ${verified.manifest.publisher}`, {
      expected: named,
      got: verified.manifest.publisher,
    });
  const provider = providerOf(verified.manifest.publisher, ctx.provider);
  const trustBasis = checkPublisherTrust(
    { publisher: verified.manifest.publisher, provider, signerKeyId: verified.keyId, keySet: keys.keyIds, jwksUri: keys.jwksUri },
    ctx.policy,
    ctx.pins,
    ctx.firstSeen,
  ); // 4
  return Object.freeze({ serverUri, publisher: verified.manifest.publisher, provider, trustBasis, jwksUri: keys.jwksUri, verified, ...window });
}

