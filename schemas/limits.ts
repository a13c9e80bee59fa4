/**
 * Explicit limits for every document on the wire. They are the defaults; verifier and registry
 * options may lower them. Each has a named refusal test in test/schemas.
 */
export const LIMITS = {
  /** Largest signed-manifest document accepted, in bytes of JSON text. */
  maxManifestBytes: 64 * 1024,
  /** Largest single tool definition (JCS bytes). Real tools are under 5 KB. */
  maxDefinitionBytes: 32 * 1024,
  /** Deepest nesting of objects/arrays inside a definition (real servers reach 7). */
  maxDepth: 32,
  /** Longest string value anywhere in a definition. */
  maxStringLength: 16 * 1024,
  maxDescriptionLength: 8 * 1024,
  maxPermissions: 64,
  maxPermissionLength: 128,
  maxSignatures: 8,
  maxPolicyBytes: 16 * 1024,
  maxToolNameLength: 128,
  maxNamespaceLength: 128,
  maxVersionLength: 64,
} as const;

/**
 * MCP tool name: 1-128 chars of A-Za-z0-9_.- (MCP spec, tools), except `.` and `..`: a tool id
 * is also a URL path (`/v1/tools/<namespace>/<name>`), where those are path traversal.
 */
export const TOOL_NAME_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,128}$/;

/**
 * Provider namespace: reverse-DNS, lower-case ASCII labels (`com.acme`, `io.github.alice`),
 * at least two labels, each 1-63 chars of a-z0-9- not starting or ending with '-'.
 */
export const NAMESPACE_PATTERN = /^(?=.{3,128}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Semantic Versioning 2.0.0, the official regular expression (semver.org). */
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** OAuth-style scope token (RFC 6749 section 3.3: printable ASCII less space, '"' and '\'). */
export const PERMISSION_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/** `sha256:` + 64 lower-case hex digits. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** A 64-byte Ed25519 signature, base64url without padding: 86 chars. */
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;

/** RFC 7638 JWK thumbprint: base64url SHA-256, 43 chars. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The namespaced `_meta` key under which a server may carry a tool's signed manifest. */
export const MANIFEST_META_KEY = 'io.etdi/signed-manifest';
