import semverCompare from 'semver/functions/compare.js';
import { declarationsSignatureKid } from '@etdi/protocol';
import { bundleSource, decodeBundle, toListedTool, verifyEvidence, VerificationError, type ValidatedBundle } from '@etdi/client';
import { addCheck, setVerdict } from './dom.js';
import { fingerprint, lastCheckpoint, pinnedLogKey, rememberCheckpoint } from './log-key.js';
import { bundlePath, describeFailure, getText, logCheckerFor, trustRootFor, webCrypto } from './registry-api.js';

export async function fetchBundle(toolId: string, version: string): Promise<ValidatedBundle | undefined> {
  const { status, text } = await getText(bundlePath(toolId, version));
  if (status === 404) return undefined;
  if (status !== 200) throw new VerificationError('REGISTRY_UNAVAILABLE', `the registry answered ${status} for ${toolId}@${version}`, { got: status });
  return decodeBundle(text);
}

/**
 * The version page's check, in the verifier's own steps (client-verifier verifyEvidence, for
 * either record format; a SEP-3140 record's signature is the JWS over its capability manifest): the
 * manifest's Ed25519 signature over its RFC 8785 bytes with WebCrypto, the signer key, the
 * definition and manifest digests against the record, revocation, inclusion of the publish event
 * in the log against a checkpoint signed by the pinned log key, the registry's attestation.
 */
export async function verifyVersionPage(main: HTMLElement): Promise<void> {
  const { toolId, version, issuer, audience } = main.dataset as Record<string, string>;
  setVerdict('pending', 'Verifying…');
  try {
    const backend = await webCrypto();
    const pinned = await pinnedLogKey('verified', () => {
      location.reload();
    });
    if (pinned === undefined) return;
    const { served } = pinned;
    const bundle = await fetchBundle(toolId!, version!);
    if (bundle === undefined) throw new VerificationError('UNSIGNED', `the registry has no ${toolId}@${version}`);
    const trustRoot = await trustRootFor(issuer!, audience!, pinned.key);
    const seen = lastCheckpoint();
    const log = await logCheckerFor(pinned.key, served.origin, seen).catch(() => logCheckerFor(pinned.key, served.origin, undefined));
    // the record as a server would list it (a SEP-3140 declaration names no namespace: the record's provider is checked against its publisher's)
    const evidence = await verifyEvidence(toListedTool(bundle.record), {
      trustRoot,
      log,
      bundles: bundleSource([bundle], semverCompare),
      backend,
      provider: bundle.record.provider,
    });
    const proof = bundle.status.log.inclusionProof;
    if ('signedDeclaration' in evidence) {
      const { manifest, signature } = evidence.signedDeclaration;
      addCheck(`Manifest signature: the detached JWS (EdDSA) over the SEP-3140 capability manifest's RFC 8785 (JCS) bytes, by key "${declarationsSignatureKid(signature)}" of ${manifest.publisher}, checked with WebCrypto.`);
      addCheck(`Signer key: the key the record names (RFC 7638 thumbprint ${evidence.signerKeyId}) for namespace ${evidence.provider}, the publisher's host reversed; not revoked at signing time.`);
      addCheck(`Declaration: its contentHash recomputed here is the one the signed manifest lists; definition digest ${evidence.definitionDigest} and manifest digest ${evidence.manifestDigest} equal to the record's.`);
    } else {
      addCheck(`Manifest signature: Ed25519 over the manifest's RFC 8785 (JCS) bytes, by key ${evidence.signerKeyId} of ${evidence.provider}, checked with WebCrypto.`);
      addCheck(`Signer key: the key the record names, its RFC 7638 thumbprint matching, not revoked at signing time.`);
      addCheck(`Definition digest ${evidence.definitionDigest} and manifest digest ${evidence.manifestDigest}: recomputed here, equal to the record's.`);
    }
    addCheck(`Log inclusion: the publish event is entry #${proof.leafIndex} of the tree of size ${proof.treeSize} (${proof.hashes.length} proof hashes, RFC 9162).`);
    addCheck(`Checkpoint: signed by the log key you pinned (${fingerprint(pinned.key)}).`);
    addCheck(seen === undefined ? 'Log history: first checkpoint this browser keeps for this registry.' : `Log history: consistent with the checkpoint of size ${seen.treeSize} this browser verified before.`);
    addCheck('Registry attestation: a JWT (EdDSA) from the registry’s published key, naming these digests; the version is not revoked.');
    rememberCheckpoint(log.newestCheckpoint());
    const signer = 'signedDeclaration' in evidence ? `${evidence.signedDeclaration.manifest.publisher} signed for ${evidence.signedDeclaration.manifest.server}` : `${evidence.provider} signed`;
    setVerdict('verified', 'verified', undefined, `${evidence.toolId}@${evidence.version} is what ${signer} and what the log recorded.`);
  } catch (error) {
    const { code, message } = describeFailure(error);
    setVerdict('failed', `failed: ${code}`, code, message);
  }
}
