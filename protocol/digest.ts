import { MANIFEST_META_KEY, type JsonObject } from '@etdi/schemas';
import { sha256Hex } from './hash.js';
import { canonicalBytes } from './jcs.js';

/** `sha256:` + hex SHA-256 of the given bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return 'sha256:' + sha256Hex(bytes);
}

/** `sha256:` + hex SHA-256 of JCS(value). */
export function digestOf(value: unknown): string {
  return sha256Digest(canonicalBytes(value));
}

/**
 * The definition as it is signed: the live definition less the one `_meta` key that carries
 * the signed manifest; an emptied `_meta` counts as absent. Returns a shallow copy; the input
 * is not changed. A definition without the key is returned as is.
 */
export function toSignedDefinition<T extends object>(live: T): T {
  const meta = (live as { _meta?: unknown })._meta;
  if (meta === null || typeof meta !== 'object' || !Object.hasOwn(meta, MANIFEST_META_KEY)) return live;
  const { [MANIFEST_META_KEY]: _carried, ...rest } = meta as JsonObject;
  const copy: Record<string, unknown> = { ...(live as Record<string, unknown>) };
  if (Object.keys(rest).length === 0) delete copy._meta;
  else copy._meta = rest;
  return copy as T;
}

/** The definition digest a client compares with what a live server returns. */
export function definitionDigest(liveOrSignedDefinition: object): string {
  return digestOf(toSignedDefinition(liveOrSignedDefinition));
}
