/**
 * SEP-3140 ("Signed Capability Declarations & Trustworthy Trust Labels", modelcontextprotocol/
 * modelcontextprotocol, seps/0000-MCP-Signed-Capability-Declarations-and-Trust-Labels.md): the
 * documents a SEP-3140 server sends and publishes. Their format is the SEP's, not ours, so the
 * objects are loose (a newer revision's members are kept, and stay under the signature: the
 * signed bytes are JCS of the value as received, never of zod's output). The trust label block
 * is the one closed part: its values are an enumerated vocabulary (see TrustLabelsSchema).
 */
import { z } from 'zod';
import { Ed25519PublicJwkSchema } from './jwk.js';
import { ToolDefinitionSchema } from './tool-definition.js';
import { SEMVER_PATTERN, TOOL_NAME_PATTERN } from './limits.js';
import { isDistinct } from './refinements.js';

/** The MCP method that answers the signed capability manifest. */
export const DECLARATIONS_MANIFEST_METHOD = 'declarations/manifest';

/** The RFC 9728 Protected Resource Metadata member naming the publisher's signing JWKS. */
export const SIGNING_JWKS_URI_MEMBER = 'mcp_signing_jwks_uri';

/** RFC 9728 section 3: the well-known path prefix of Protected Resource Metadata. */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** `sha256-` + the base64url SHA-256 (43 characters, no padding) of the JCS bytes. */
export const CONTENT_HASH_PATTERN = /^sha256-[A-Za-z0-9_-]{43}$/;

/**
 * A compact JWS with detached content (RFC 7515 appendix F): `<protected header>..<signature>`.
 * The header is at most a few hundred bytes; the bound keeps a hostile one from being decoded.
 */
export const DETACHED_JWS_PATTERN = /^[A-Za-z0-9_-]{1,2048}\.\.[A-Za-z0-9_-]{1,1024}$/;

/**
 * A declaration's `version`: the SEP says "a monotonically increasing, server-assigned string
 * per name" and does not say how to compare two. Accepted here are the two forms that compare
 * without guessing: a decimal integer (`"3"`) and a Semantic Versioning 2.0.0 version.
 */
export const DECLARATION_VERSION_PATTERN = /^(?:0|[1-9][0-9]{0,14})$/;

export const DeclarationVersionSchema = z
  .string()
  .max(64)
  .refine((v) => DECLARATION_VERSION_PATTERN.test(v) || SEMVER_PATTERN.test(v), 'version must be a decimal integer ("3") or a semver version');

export const ContentHashSchema = z.string().regex(CONTENT_HASH_PATTERN, 'contentHash must be sha256-<base64url of 32 bytes>');

/**
 * The trust label vocabularies, each ordered from the least to the most restrictive reading: an
 * unknown value reads as the last one (SEP-3140, "Standardized trust labels": "unknown values →
 * treated as most-restrictive by the client").
 */
export const TRUST_EFFECTS = ['read-only', 'writes-data', 'destructive'] as const;
export const TRUST_EGRESS = ['none', 'internal', 'external'] as const;
export const TRUST_DATA_SENSITIVITY = ['public', 'internal', 'confidential', 'secret'] as const;

/**
 * The `trust` block of a tool declaration: closed (no other member) and enumerated. Every member
 * is optional here: what a tool leaves out is read as most restrictive by the client
 * (client-verifier/sep3140/trust-labels.ts), the same reading as a value it does not know.
 */
export const TrustLabelsSchema = z.strictObject({
  effect: z.enum(TRUST_EFFECTS).optional(),
  egress: z.enum(TRUST_EGRESS).optional(),
  dataSensitivity: z.enum(TRUST_DATA_SENSITIVITY).optional(),
  reversible: z.boolean().optional(),
  idempotent: z.boolean().optional(),
});
export type TrustLabels = z.infer<typeof TrustLabelsSchema>;

/**
 * The members SEP-3140 adds to a tool declaration (REQUIRED when `declarations.signed` is
 * negotiated). The declaration itself is an MCP tool (ToolDefinitionSchema checks that part);
 * `trust` is decoded label by label with TrustLabelsSchema's members, so that an unknown value
 * can be reported (or read as most restrictive) instead of failing the whole tool.
 */
export const DeclarationFieldsSchema = z.looseObject({
  version: DeclarationVersionSchema,
  contentHash: ContentHashSchema,
  trust: z.record(z.string(), z.unknown()).optional(),
});
export type DeclarationFields = z.infer<typeof DeclarationFieldsSchema>;

/** The `declarations` server capability (`{ signed, labels }`). */
export const DeclarationsCapabilitySchema = z.looseObject({
  signed: z.boolean().optional(),
  labels: z.boolean().optional(),
});
export type DeclarationsCapability = z.infer<typeof DeclarationsCapabilitySchema>;

/** One declaration as the manifest lists it: its name, version and content hash. */
export const DeclarationEntrySchema = z.looseObject({
  name: z.string().regex(TOOL_NAME_PATTERN, 'name must be an MCP tool name'),
  version: DeclarationVersionSchema,
  contentHash: ContentHashSchema,
});
export type DeclarationEntry = z.infer<typeof DeclarationEntrySchema>;

/** A prompt or resource entry: named by `name` or `uri`; not verified by this client (it gates tools). */
const OtherEntrySchema = z.looseObject({
  name: z.string().max(1024).optional(),
  uri: z.string().max(4096).optional(),
  version: DeclarationVersionSchema.optional(),
  contentHash: ContentHashSchema.optional(),
});

/** Most declarations of one kind in a manifest. */
export const MAX_DECLARATIONS = 1024;

const Rfc3339 = z.iso.datetime({ offset: true });
const Uri = z.string().min(1).max(2048);

/**
 * The signed capability manifest (`manifest` of the `declarations/manifest` result). Its JCS
 * bytes are what the detached JWS signs.
 */
export const DeclarationsManifestSchema = z
  .looseObject({
    server: Uri,
    publisher: Uri,
    specVersion: z.string().min(1).max(64),
    issuedAt: Rfc3339,
    expiresAt: Rfc3339,
    nonce: z.string().min(1).max(256),
    tools: z
      .array(DeclarationEntrySchema)
      .max(MAX_DECLARATIONS)
      .refine((t) => isDistinct(t.map((e) => e.name)), 'a tool name appears twice'),
    prompts: z.array(OtherEntrySchema).max(MAX_DECLARATIONS).optional(),
    resources: z.array(OtherEntrySchema).max(MAX_DECLARATIONS).optional(),
  })
  .refine((m) => Date.parse(m.issuedAt) < Date.parse(m.expiresAt), { message: 'expiresAt must be after issuedAt', path: ['expiresAt'] });
export type DeclarationsManifest = z.infer<typeof DeclarationsManifestSchema>;

/** The `declarations/manifest` result: the manifest and its detached JWS. */
export const SignedDeclarationsManifestSchema = z.looseObject({
  manifest: DeclarationsManifestSchema,
  signature: z.string().regex(DETACHED_JWS_PATTERN, 'signature must be a compact JWS with detached content (<header>..<signature>)'),
});
export type SignedDeclarationsManifest = z.infer<typeof SignedDeclarationsManifestSchema>;

/** The protected header of the manifest's JWS: EdDSA (or its fully specified name) and a key id. */
export const DeclarationsJwsHeaderSchema = z.looseObject({
  alg: z.enum(['EdDSA', 'Ed25519']),
  kid: z.string().min(1).max(256),
});

/**
 * RFC 9728 Protected Resource Metadata, with the SEP-3140 members. `resource` must be the
 * resource the client asked about (RFC 9728 section 3.3), checked by the client.
 */
export const ProtectedResourceMetadataSchema = z.looseObject({
  resource: Uri,
  authorization_servers: z.array(z.string().max(2048)).max(64).optional(),
  mcp_publisher: Uri.optional(),
  mcp_signing_jwks_uri: Uri.optional(),
});
export type ProtectedResourceMetadata = z.infer<typeof ProtectedResourceMetadataSchema>;

/**
 * A publisher's signing JWKS (RFC 7517). Keys of other types may be listed (a publisher's set
 * is not only for MCP); the one the JWS's `kid` names must be an Ed25519 key (Ed25519PublicJwkSchema
 * without its thumbprint rule on `kid`: SEP-3140 key ids are the publisher's own names).
 */
export const DeclarationsJwksSchema = z.looseObject({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().max(256).optional() })).max(64),
});
export type DeclarationsJwks = z.infer<typeof DeclarationsJwksSchema>;

/** An Ed25519 signing key as a SEP-3140 JWKS lists it: any `kid` (checked against the JWS header). */
export const DeclarationsSigningKeySchema = Ed25519PublicJwkSchema.extend({ kid: z.string().min(1).max(256), alg: z.enum(['EdDSA', 'Ed25519']).optional() });
export type DeclarationsSigningKey = z.infer<typeof DeclarationsSigningKeySchema>;

/**
 * A tool declaration as a SEP-3140 server lists it: an MCP tool (ToolDefinitionSchema) with the
 * SEP's `version`, `contentHash` and optional `trust`. Loose like the tool: what a newer
 * revision adds is kept, and hashed.
 */
export const ToolDeclarationSchema = z.intersection(ToolDefinitionSchema, DeclarationFieldsSchema);
export type ToolDeclaration = z.infer<typeof ToolDeclarationSchema>;

/**
 * One tool of a SEP-3140 publish as a registry stores and serves it: the signed capability
 * manifest (the `declarations/manifest` result, as received) and that tool's declaration. With the
 * publisher's key, anyone re-checks it: the JWS over JCS(manifest), the declaration's
 * `contentHash`, and the manifest's entry for it.
 */
export const SignedDeclarationSchema = z.strictObject({
  manifest: DeclarationsManifestSchema,
  signature: SignedDeclarationsManifestSchema.shape.signature,
  declaration: ToolDeclarationSchema,
});
export type SignedDeclaration = z.infer<typeof SignedDeclarationSchema>;
