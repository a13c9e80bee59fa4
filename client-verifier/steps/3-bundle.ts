/** Step 3 (docs/VERIFIER.md): the bundle (record and status) of the version the tool is checked against. */
import type { LockfilePin } from '@etdi/schemas';
import { sameJson } from '@etdi/protocol';
import { keyOfVersion, type ValidatedBundle } from '../bundles.js';
import { VerificationError } from '../errors.js';
import type { VerifyContext } from '../evidence.js';
import { decodeSignedDefinition, formatOf, type SignedFormat } from '../signed-version.js';
import type { ManifestLocation } from './2-manifest.js';

/** A bundle and where it came from. */
export interface FoundBundle {
  bundle: ValidatedBundle;
  source: 'registry' | 'bundle';
}

/** What step 3 found. */
export interface ResolvedBundle extends FoundBundle {
  /**
   * For a tool that carries no manifest: whether it is the definition the bundle's manifest
   * signs (sameJson, nothing serialised); undefined for a carried manifest (step 8 decides).
   */
  listsSigned?: boolean;
}

/** The bundle of `toolId@version`: offline bundles, then a prefetch, then the registry. */
async function fetchBundle(ctx: VerifyContext, toolId: string, version: string): Promise<FoundBundle | undefined> {
  const offline = ctx.bundles?.get(toolId, version);
  if (offline !== undefined) return { bundle: offline, source: 'bundle' };
  const prefetched = ctx.prefetched?.get(toolId, version);
  if (prefetched !== undefined) return { bundle: prefetched, source: 'registry' };
  if (ctx.registry === undefined) return undefined;
  try {
    return { bundle: await ctx.registry.getBundle(toolId, version), source: 'registry' };
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'UNKNOWN_TOOL') return undefined;
    throw error;
  }
}

/**
 * The published version of `toolId` whose signed definition has `definitionDigest`, from the
 * offline bundles, a prefetch, or the registry (`?definitionDigest=`). Best effort: a registry
 * that cannot answer leaves the verdict as it was. Whatever it finds is verified in full.
 */
async function bundleWithDefinition(ctx: VerifyContext, toolId: string, definitionDigest: string): Promise<FoundBundle | undefined> {
  const offline = ctx.bundles?.withDefinition?.(toolId, definitionDigest);
  if (offline !== undefined) return { bundle: offline, source: 'bundle' };
  const prefetched = ctx.prefetched?.withDefinition?.(toolId, definitionDigest);
  if (prefetched !== undefined) return { bundle: prefetched, source: 'registry' };
  if (ctx.registry === undefined) return undefined;
  try {
    const [newest] = await ctx.registry.findVersions(toolId, definitionDigest);
    return newest === undefined ? undefined : { bundle: await ctx.registry.getBundle(toolId, newest), source: 'registry' };
  } catch (error) {
    if (error instanceof VerificationError) return undefined;
    throw error;
  }
}

/**
 * The published version a server that carries no manifest lists, when its definition is not the
 * resolved version's (`latest`): the pinned version (a server still on it while the registry has
 * a newer one: no silent upgrade, no false alarm), else any other with the live definition's
 * digest (an older one after a rollback: the pin rows then say ROLLBACK, not a changed
 * definition). Each record is compared in its own format's digest (listedDigest); the search by
 * digest uses the resolved version's format. It only selects: the record must name that digest
 * (a registry cannot steer the verdict with another), and the steps after this one verify what
 * it finds in full. Undefined when there is none: the resolved version stays, and with it
 * DEFINITION_MISMATCH or RUG_PULL.
 */
async function listedVersion(
  ctx: VerifyContext,
  toolId: string,
  resolved: FoundBundle,
  pin: LockfilePin | undefined,
  listedDigest: (format: SignedFormat) => string,
): Promise<FoundBundle | undefined> {
  const resolvedVersion = resolved.bundle.record.version;
  const lists = (found: FoundBundle | undefined): boolean => found !== undefined && found.bundle.record.definitionDigest === listedDigest(formatOf(found.bundle.record));
  if (pin !== undefined && pin.version !== resolvedVersion) {
    const pinned = await fetchBundle(ctx, toolId, pin.version);
    if (lists(pinned)) return pinned;
  }
  const other = await bundleWithDefinition(ctx, toolId, listedDigest(formatOf(resolved.bundle.record)));
  return other !== undefined && other.bundle.record.version !== resolvedVersion && lists(other) ? other : undefined;
}

/** The bundle must be the one asked for: an answer for another tool or version is refused. */
function checkAnswers(bundle: ValidatedBundle, toolId: string, version: string | undefined): void {
  const { record, status } = bundle;
  if (record.toolId !== toolId || status.toolId !== toolId || status.version !== record.version || (version !== undefined && record.version !== version))
    throw new VerificationError('SCHEMA_INVALID', `the bundle answered for ${record.toolId}@${record.version}, not ${toolId}@${version ?? 'latest'}`, {
      expected: keyOfVersion(toolId, version ?? 'latest'),
      got: keyOfVersion(record.toolId, record.version),
    });
}

/**
 * Step 3: the bundle of the located version (offline bundles first, then the registry), checked
 * to answer for that tool and version; none is UNSIGNED. For a tool that carries no manifest and
 * is not the definition the resolved version signs, the version the server does list
 * (listedVersion). `listedDigest` is the digest of the tool as a format signs it, taken only
 * when needed.
 */
export async function resolveBundle(
  location: ManifestLocation,
  signedDefinition: Record<string, unknown>,
  listedDigest: (format: SignedFormat) => string,
  ctx: VerifyContext,
): Promise<ResolvedBundle> {
  const { toolId, version, carried } = location;
  const found = await fetchBundle(ctx, toolId, version);
  if (found === undefined)
    throw new VerificationError(
      'UNSIGNED',
      `no signed manifest for ${toolId}@${version}: ${carried ? 'the registry never published the manifest the server carries' : 'the registry has no such tool'}${ctx.registry ? '' : ' (offline: no bundle given)'}`,
      { toolId, version, toolName: String(signedDefinition.name) },
    );
  checkAnswers(found.bundle, toolId, carried === undefined ? undefined : version);
  if (carried !== undefined) return found;
  if (sameJson(signedDefinition, decodeSignedDefinition(found.bundle.record))) return { ...found, listsSigned: true };
  const other = await listedVersion(ctx, toolId, found, ctx.lockfile?.tools[toolId], listedDigest);
  if (other === undefined) return { ...found, listsSigned: false };
  checkAnswers(other.bundle, toolId, other.bundle.record.version);
  return other;
}
