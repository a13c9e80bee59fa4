/**
 * The rules of the signed documents that JSON Schema cannot state: every one the schemas of
 * the trust boundary (tool definition, manifest, signed manifest) add to their shapes, in one
 * place, each named for what it refuses. Everything else about those documents is shape (types,
 * patterns, lengths, closed objects), checked by the same zod schemas on every path.
 */
import { jsonShape } from './json.js';
import { LIMITS, MANIFEST_META_KEY, NAMESPACE_PATTERN, TOOL_NAME_PATTERN } from './limits.js';

/** A refinement's issue: where (a path under the checked value) and what. */
export interface RefinementIssue {
  path: (string | number)[];
  message: string;
}

/** No nesting deeper than LIMITS.maxDepth and no string (key or value) longer than LIMITS.maxStringLength anywhere in a definition. */
export function definitionWithinLimits(definition: unknown): RefinementIssue[] {
  const shape = jsonShape(definition, LIMITS.maxDepth);
  const issues: RefinementIssue[] = [];
  if (shape.depth > LIMITS.maxDepth) issues.push({ path: [], message: `definition nests deeper than ${LIMITS.maxDepth} levels` });
  if (shape.longestString > LIMITS.maxStringLength) issues.push({ path: [], message: `a string is longer than ${LIMITS.maxStringLength} characters` });
  return issues;
}

/** A tool id is `<namespace>/<tool name>`, each part by its own pattern. */
export function isToolId(id: string): boolean {
  const slash = id.indexOf('/');
  return slash > 0 && NAMESPACE_PATTERN.test(id.slice(0, slash)) && TOOL_NAME_PATTERN.test(id.slice(slash + 1));
}

/** A signed definition carries no empty `_meta` and no carried-manifest key (the signature cannot cover itself). */
export function isSignedDefinitionMeta(meta: Record<string, unknown> | undefined): boolean {
  return meta === undefined || (!(MANIFEST_META_KEY in meta) && Object.keys(meta).length > 0);
}

/** No value twice (permissions; key ids of signatures). */
export function isDistinct(values: readonly string[]): boolean {
  return new Set(values).size === values.length;
}

/** The manifest's tool id is its provider and its definition's name: a provider signs only tools of its namespace. */
export function toolIdOfManifest(manifest: { toolId: string; provider: string; definition: { name: string } }): RefinementIssue[] {
  const expected = `${manifest.provider}/${manifest.definition.name}`;
  return manifest.toolId === expected ? [] : [{ path: ['toolId'], message: `tool id must be "${expected}" (provider/definition.name)` }];
}
