import { BundleSetSchema, LIMITS, MAX_BUNDLE_SET, VersionBundleSchema, type BundleSet, type VersionBundle } from '@etdi/schemas';
import { ProtocolError, checkSchema, parseStrictJson } from '@etdi/protocol';
import { VerificationError } from './errors.js';

declare const schemaChecked: unique symbol;

/**
 * A VersionBundle that VersionBundleSchema accepted. Only the functions of this file produce
 * one (decodeBundle, decodeBundleSet, and validateBundle for the registry client), so code that
 * holds one holds a checked document: the verifier's steps read it without checking it again,
 * and no caller can mark an unchecked object as checked.
 */
export type ValidatedBundle = VersionBundle & { readonly [schemaChecked]: true };

/** A BundleSet that BundleSetSchema accepted, its bundles each a ValidatedBundle. */
export type ValidatedBundleSet = Omit<BundleSet, 'bundles'> & { bundles: ValidatedBundle[] };

/** zod's verdict as the verifier's SCHEMA_INVALID (the issues and their paths as evidence). */
function schemaInvalid(cause: unknown, evidence: Record<string, unknown>): VerificationError {
  const issues = cause instanceof ProtocolError ? cause.issues : [];
  return new VerificationError('SCHEMA_INVALID', (cause as Error).message, { ...evidence, issues }, { cause });
}

/** Checks a parsed value against VersionBundleSchema (SCHEMA_INVALID otherwise); returns the value as received. */
export function validateBundle(value: unknown, what = 'version bundle', evidence: Record<string, unknown> = {}): ValidatedBundle {
  try {
    return checkSchema(VersionBundleSchema, value, what) as unknown as ValidatedBundle;
  } catch (cause) {
    throw schemaInvalid(cause, evidence);
  }
}

/** Checks a parsed value against BundleSetSchema (SCHEMA_INVALID otherwise); returns the value as received. */
export function validateBundleSet(value: unknown, what = 'bundle set', evidence: Record<string, unknown> = {}): ValidatedBundleSet {
  try {
    return checkSchema(BundleSetSchema, value, what) as unknown as ValidatedBundleSet;
  } catch (cause) {
    throw schemaInvalid(cause, evidence);
  }
}

function parse(input: string | Uint8Array, maxBytes: number, what: string): unknown {
  try {
    return parseStrictJson(input, { maxBytes });
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `the ${what} is not strict I-JSON: ${(cause as Error).message}`, {}, { cause });
  }
}

/**
 * Decodes a bundle document (JSON text or bytes, e.g. a file a host ships for offline use):
 * strict I-JSON, size cap, VersionBundleSchema. It verifies nothing: verification happens per tool.
 */
export function decodeBundle(input: string | Uint8Array): ValidatedBundle {
  return validateBundle(parse(input, LIMITS.maxManifestBytes * 2, 'bundle'));
}

/** Decodes a bundle set (JSON text or bytes: a host's offline file, BundleSetSchema). Verifies nothing; see ToolVerifier.addBundleSet. */
export function decodeBundleSet(input: string | Uint8Array): ValidatedBundleSet {
  return validateBundleSet(parse(input, LIMITS.maxManifestBytes * 2 * MAX_BUNDLE_SET, 'bundle set'));
}

/** Where bundles come from when the host verifies offline (no registry at invocation time). */
export interface BundleSource {
  /** The bundle of `toolId` at `version`, or the newest one for `latest`; undefined when absent. */
  get(toolId: string, version: string): ValidatedBundle | undefined;
  /** The newest bundle of `toolId` whose signed definition has `definitionDigest` (which version a server lists). */
  withDefinition?(toolId: string, definitionDigest: string): ValidatedBundle | undefined;
}

export const keyOfVersion = (toolId: string, version: string): string => `${toolId}@${version}`;

/** A bundle source over a list of bundles (`latest` = highest version by `compare`). */
export function bundleSource(bundles: Iterable<ValidatedBundle>, compare: (a: string, b: string) => number): BundleSource {
  const byKey = new Map<string, ValidatedBundle>();
  const latest = new Map<string, ValidatedBundle>();
  const newest = (map: Map<string, ValidatedBundle>, key: string, b: ValidatedBundle): void => {
    const current = map.get(key);
    if (current === undefined || compare(b.record.version, current.record.version) > 0) map.set(key, b);
  };
  for (const b of bundles) {
    byKey.set(keyOfVersion(b.record.toolId, b.record.version), b);
    newest(latest, b.record.toolId, b);
  }
  // Only a server listing another version than the one resolved asks this: indexed on first use.
  let byDefinition: Map<string, ValidatedBundle> | undefined;
  return {
    get: (toolId, version) => (version === 'latest' ? latest.get(toolId) : byKey.get(keyOfVersion(toolId, version))),
    withDefinition: (toolId, definitionDigest) => {
      if (byDefinition === undefined) {
        byDefinition = new Map();
        for (const b of byKey.values()) newest(byDefinition, `${b.record.toolId}|${b.record.definitionDigest}`, b);
      }
      return byDefinition.get(`${toolId}|${definitionDigest}`);
    },
  };
}
