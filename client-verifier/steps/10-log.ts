/** Step 10 (docs/VERIFIER.md): the published version is in the transparency log the host trusts. */
import { LOG_EVENT_TYPE, type VersionRecord } from '@etdi/schemas';
import { canonicalBytes } from '@etdi/protocol';
import type { ValidatedBundle } from '../bundles.js';
import { VerificationError } from '../errors.js';
import type { VerifyContext } from '../evidence.js';

/** The leaf the log must contain for a published version: JCS of the `version.published` event rebuilt from the record. */
export function versionPublishedLeaf(record: VersionRecord): Uint8Array {
  return canonicalBytes({
    actor: record.publishedBy,
    at: record.publishedAt,
    definitionDigest: record.definitionDigest,
    kind: 'version.published',
    manifestDigest: record.manifestDigest,
    namespace: record.provider,
    signerKeyId: record.signerKeyId,
    toolId: record.toolId,
    type: LOG_EVENT_TYPE,
    version: record.version,
  });
}

/**
 * Step 10: the record's leaf is proven in a checkpoint signed by the pinned log key, consistent
 * with the newest checkpoint this client has seen (split view and stealth publication defence):
 * NOT_LOGGED / LOG_INCONSISTENT.
 */
export async function checkLogged(bundle: ValidatedBundle, ctx: VerifyContext): Promise<void> {
  const { record, status } = bundle;
  if (status.log.leafIndex !== record.leafIndex || status.log.inclusionProof.leafIndex !== record.leafIndex)
    throw new VerificationError('NOT_LOGGED', `the log evidence of ${record.toolId}@${record.version} is for leaf ${status.log.leafIndex}, the record says ${record.leafIndex}`, {
      toolId: record.toolId,
      expected: record.leafIndex,
      got: status.log.leafIndex,
    });
  await ctx.log.checkInclusion(versionPublishedLeaf(record), status.log);
}
