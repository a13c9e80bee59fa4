import type { JsonShape } from '@etdi/schemas';
import {
  KEY_ID_PATTERN,
  LIMITS,
  MANIFEST_META_KEY,
  NAMESPACE_PATTERN,
  PERMISSION_PATTERN,
  SEMVER_PATTERN,
  SIGNATURE_PATTERN,
  TOOL_NAME_PATTERN,
} from '@etdi/schemas';
import { MANIFEST_TYPE, ToolManifestSchema } from '@etdi/schemas';

/**
 * SignedManifestSchema's acceptance, decided without zod, for the value the strict parser has
 * just produced from JSON text (plain objects, arrays, strings, finite numbers, booleans, null;
 * no duplicate keys), with `shape` measured over that whole value in the same parse.
 *
 * One-sided on purpose: true only when every rule of the schema (schemas/manifest.ts,
 * schemas/tool-definition.ts, schemas/json.ts) holds, so zod would accept the value; false means
 * "not shown here", never "invalid": the caller then runs the zod schema, which decides and
 * names every issue. So no refusal can be lost through this function, only a fast acceptance
 * be missed. It exists because zod builds an output copy and an issue list for every object it
 * checks, a third of everything verifySignedManifest spends besides the Ed25519 verify (issue
 * #3); this walks the few members the schema types, allocates nothing, and leaves the opaque
 * JSON Schema subtrees to the parser's measurement (`shape`).
 *
 * Kept in step with the schemas by test/protocol/manifest-check.test.ts, which runs both over
 * every refusal of test/schemas and over generated and mutated manifests, and fails if this
 * accepts anything zod refuses. Whoever changes those schemas changes this too.
 */
export function acceptsSignedManifest(value: unknown, shape: JsonShape): boolean {
  // The definition's own limits (its superRefine): the whole document is within them.
  if (shape.depth > LIMITS.maxDepth || shape.longestString > LIMITS.maxStringLength) return false;
  if (!isObject(value)) return false;
  let members = 0;
  for (const key in value) {
    if (key !== 'manifest' && key !== 'signatures') return false; // strictObject
    members++;
  }
  const v = value as { manifest?: unknown; signatures?: unknown };
  return members === 2 && acceptsManifest(v.manifest) && acceptsSignatures(v.signatures);
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const optString = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max);
const optBoolean = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
const optObject = (v: unknown): boolean => v === undefined || isObject(v);

/** The pattern zod's `z.iso.datetime(...)` of `issuedAt` tests (its only check); none, and this never accepts. */
const ISSUED_AT_PATTERN: RegExp | undefined = (() => {
  const pattern = (ToolManifestSchema.shape.issuedAt._zod.def as { pattern?: unknown }).pattern;
  return pattern instanceof RegExp && !pattern.global && !pattern.sticky ? pattern : undefined;
})();

const MANIFEST_KEYS = new Set(['type', 'toolId', 'version', 'provider', 'definition', 'permissions', 'policy', 'issuedAt']);

function acceptsManifest(value: unknown): boolean {
  if (!isObject(value)) return false;
  for (const key in value) if (!MANIFEST_KEYS.has(key)) return false; // strictObject
  const m = value as {
    type?: unknown;
    toolId?: unknown;
    version?: unknown;
    provider?: unknown;
    definition?: unknown;
    permissions?: unknown;
    policy?: unknown;
    issuedAt?: unknown;
  };
  const { toolId, provider } = m;
  if (m.type !== MANIFEST_TYPE) return false;
  if (!isString(provider, LIMITS.maxNamespaceLength) || !NAMESPACE_PATTERN.test(provider)) return false;
  if (!isString(m.version, LIMITS.maxVersionLength) || !SEMVER_PATTERN.test(m.version)) return false;
  if (ISSUED_AT_PATTERN === undefined || typeof m.issuedAt !== 'string' || !ISSUED_AT_PATTERN.test(m.issuedAt)) return false;
  const name = acceptsDefinition(m.definition);
  if (name === undefined) return false;
  // The superRefine's `toolId === provider + "/" + name`, without building the string. A
  // provider holds no "/" (NAMESPACE_PATTERN), so the first "/" is right after it, and both
  // halves pass ToolIdSchema's own patterns; its length is at most 128 + 1 + 128 (the patterns).
  if (
    typeof toolId !== 'string' ||
    toolId.length !== provider.length + 1 + name.length ||
    toolId.charCodeAt(provider.length) !== 0x2f ||
    !toolId.startsWith(provider) ||
    !toolId.endsWith(name)
  )
    return false;
  if (!acceptsPermissions(m.permissions)) return false;
  return m.policy === undefined || acceptsPolicy(m.policy);
}

function acceptsPermissions(p: unknown): boolean {
  if (!Array.isArray(p) || p.length > LIMITS.maxPermissions) return false;
  for (let i = 0; i < p.length; i++) {
    const s: unknown = p[i];
    if (typeof s !== 'string' || !PERMISSION_PATTERN.test(s)) return false;
    for (let j = 0; j < i; j++) if (p[j] === s) return false; // "permissions must not repeat"
  }
  return true;
}

function acceptsPolicy(value: unknown): boolean {
  if (!isObject(value)) return false;
  for (const key in value) if (key !== 'language' && key !== 'policies' && key !== 'schema') return false; // strictObject
  const { language, policies, schema } = value as { language?: unknown; policies?: unknown; schema?: unknown };
  return language === 'cedar' && isString(policies, LIMITS.maxPolicyBytes) && policies.length >= 1 && optObject(schema);
}

/** SignedDefinitionSchema (a looseObject: other members are kept, not checked); the name when accepted. */
function acceptsDefinition(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const d = value as {
    name?: unknown;
    title?: unknown;
    description?: unknown;
    inputSchema?: unknown;
    outputSchema?: unknown;
    annotations?: unknown;
    icons?: unknown;
    execution?: unknown;
    _meta?: unknown;
  };
  const { name, _meta } = d;
  if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) return undefined;
  if (!optString(d.title, LIMITS.maxStringLength) || !optString(d.description, LIMITS.maxDescriptionLength)) return undefined;
  if (!acceptsObjectJsonSchema(d.inputSchema)) return undefined;
  if (d.outputSchema !== undefined && !acceptsObjectJsonSchema(d.outputSchema)) return undefined;
  if (d.annotations !== undefined && !acceptsAnnotations(d.annotations)) return undefined;
  if (d.icons !== undefined && !acceptsIcons(d.icons)) return undefined;
  if (d.execution !== undefined && !acceptsExecution(d.execution)) return undefined;
  if (_meta !== undefined) {
    // The signed form: no carried manifest key, and no empty _meta.
    if (!isObject(_meta) || MANIFEST_META_KEY in _meta || Object.keys(_meta).length === 0) return undefined;
  }
  return name;
}

function acceptsObjectJsonSchema(value: unknown): boolean {
  if (!isObject(value)) return false;
  const { type, properties, required } = value as { type?: unknown; properties?: unknown; required?: unknown };
  if (type !== 'object' || !optObject(properties)) return false;
  if (required === undefined) return true;
  if (!Array.isArray(required)) return false;
  for (let i = 0; i < required.length; i++) if (typeof required[i] !== 'string') return false;
  return true;
}

function acceptsAnnotations(value: unknown): boolean {
  if (!isObject(value)) return false;
  const a = value as { title?: unknown; readOnlyHint?: unknown; destructiveHint?: unknown; idempotentHint?: unknown; openWorldHint?: unknown };
  return (
    optString(a.title, LIMITS.maxStringLength) &&
    optBoolean(a.readOnlyHint) &&
    optBoolean(a.destructiveHint) &&
    optBoolean(a.idempotentHint) &&
    optBoolean(a.openWorldHint)
  );
}

function acceptsIcons(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > 32) return false;
  for (let i = 0; i < value.length; i++) {
    const icon: unknown = value[i];
    if (!isObject(icon)) return false;
    const { src, mimeType, sizes } = icon as { src?: unknown; mimeType?: unknown; sizes?: unknown };
    if (!isString(src, LIMITS.maxStringLength) || src.length === 0 || !optString(mimeType, 255)) return false;
    if (sizes === undefined) continue;
    if (!Array.isArray(sizes) || sizes.length > 32) return false;
    for (let j = 0; j < sizes.length; j++) if (!isString(sizes[j], 64)) return false;
  }
  return true;
}

function acceptsExecution(value: unknown): boolean {
  if (!isObject(value)) return false;
  const t = (value as { taskSupport?: unknown }).taskSupport;
  return t === undefined || t === 'forbidden' || t === 'optional' || t === 'required';
}

function acceptsSignatures(value: unknown): boolean {
  if (!Array.isArray(value) || value.length < 1 || value.length > LIMITS.maxSignatures) return false;
  for (let i = 0; i < value.length; i++) {
    const s: unknown = value[i];
    if (!isObject(s)) return false;
    let members = 0;
    for (const key in s) {
      if (key !== 'keyId' && key !== 'alg' && key !== 'sig') return false; // strictObject
      members++;
    }
    const { keyId, alg, sig } = s as { keyId?: unknown; alg?: unknown; sig?: unknown };
    if (members !== 3 || alg !== 'EdDSA') return false;
    if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId) || typeof sig !== 'string' || !SIGNATURE_PATTERN.test(sig)) return false;
    for (let j = 0; j < i; j++) if ((value[j] as { keyId: string }).keyId === keyId) return false; // "one signature per key"
  }
  return true;
}
