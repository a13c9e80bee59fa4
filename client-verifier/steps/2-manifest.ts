/** Step 2 (docs/VERIFIER.md): which signed manifest the listed tool is checked against. */
import { MANIFEST_META_KEY, ToolIdSchema, VersionSchema, type Lockfile, type SignedManifest } from '@etdi/schemas';
import { decodeSignedManifest } from '@etdi/protocol';
import { VerificationError } from '../errors.js';
import type { VerifyContext } from '../evidence.js';
import type { ListedTool } from './1-listed-tool.js';

/** What step 2 found: the manifest the tool carries, or the tool id and version to resolve it by. */
export interface ManifestLocation {
  carried?: SignedManifest;
  toolId: string;
  /** The carried manifest's version, or `latest` (resolved in step 3). */
  version: string;
}

/** Reads the carried manifest from `_meta` without verifying it (decoded here, verified in step 4). */
function decodeCarried(tool: ListedTool): SignedManifest | undefined {
  const meta = tool._meta as Record<string, unknown> | undefined;
  if (meta === undefined || !Object.hasOwn(meta, MANIFEST_META_KEY)) return undefined;
  try {
    return decodeSignedManifest(meta[MANIFEST_META_KEY]);
  } catch (cause) {
    throw new VerificationError(
      'SCHEMA_INVALID',
      `tool "${tool.name}" carries a malformed signed manifest in _meta["${MANIFEST_META_KEY}"]: ${(cause as Error).message}`,
      { toolName: tool.name },
      { cause },
    );
  }
}

/** The namespace an uncarried tool is resolved in: the host's provider for the server, or that of the single pin with this name. */
function ownerOf(toolName: string, provider: string | undefined, lockfile: Lockfile | undefined): string | undefined {
  const pinned = lockfile ? Object.values(lockfile.tools).filter((p) => p.toolId.endsWith(`/${toolName}`)) : [];
  return provider ?? (pinned.length === 1 ? pinned[0]!.provider : undefined);
}

/**
 * Step 2: the manifest from the tool's `_meta["io.etdi/signed-manifest"]`, else the tool id to
 * resolve it by: the server's configured provider, or the provider of the one pin with that tool
 * name, and `latest`. Neither: UNSIGNED.
 */
export function locateManifest(tool: ListedTool, ctx: VerifyContext): ManifestLocation {
  const carried = decodeCarried(tool);
  if (carried !== undefined) return { carried, toolId: carried.manifest.toolId, version: carried.manifest.version };
  const provider = ownerOf(tool.name, ctx.provider, ctx.lockfile);
  if (provider === undefined)
    throw new VerificationError(
      'UNSIGNED',
      `tool "${tool.name}" carries no signed manifest and no provider is configured to resolve it from the registry; configure the server's provider or refuse the tool`,
      { toolName: tool.name, expected: `_meta["${MANIFEST_META_KEY}"] or a configured provider` },
    );
  return { toolId: `${provider}/${tool.name}`, version: 'latest' };
}

/**
 * The bundles step 2 and 3 will ask for (ToolVerifier.prefetch): the carried manifest's version,
 * or `latest` in the tool's namespace (and the pinned version, for a server still on it).
 * Lenient: a malformed tool yields nothing here, and step 1 or 2 reports it.
 */
export function bundleTargets(live: unknown, provider: string | undefined, lockfile: Lockfile | undefined): { toolId: string; version: string }[] {
  const name = live !== null && typeof live === 'object' ? (live as { name?: unknown }).name : undefined;
  if (typeof name !== 'string') return [];
  const meta = (live as { _meta?: unknown })._meta;
  const targets: { toolId: string; version: string }[] = [];
  if (meta !== null && typeof meta === 'object' && Object.hasOwn(meta, MANIFEST_META_KEY)) {
    const manifest = ((meta as Record<string, unknown>)[MANIFEST_META_KEY] as { manifest?: { toolId?: unknown; version?: unknown } } | null)?.manifest;
    if (typeof manifest?.toolId === 'string' && typeof manifest.version === 'string') targets.push({ toolId: manifest.toolId, version: manifest.version });
  } else {
    const owner = ownerOf(name, provider, lockfile);
    if (owner !== undefined) {
      const toolId = `${owner}/${name}`;
      targets.push({ toolId, version: 'latest' });
      const pin = lockfile?.tools[toolId];
      if (pin !== undefined) targets.push({ toolId, version: pin.version });
    }
  }
  return targets.filter((t) => ToolIdSchema.safeParse(t.toolId).success && (t.version === 'latest' || VersionSchema.safeParse(t.version).success));
}
