import { z } from 'zod';
import { Ed25519PublicJwkSchema, KeyIdSchema } from './jwk.js';
import { LogEvidenceSchema } from './log.js';
import { DigestSchema, NamespaceSchema, SignedManifestSchema, ToolIdSchema, VersionSchema } from './manifest.js';
import { DeclarationsSigningKeySchema, SignedDeclarationSchema, SignedDeclarationsManifestSchema, ToolDeclarationSchema } from './sep3140.js';

const Iso = z.iso.datetime({ offset: false });

/**
 * The immutable part of a published version: served with a strong ETag and cached for a long
 * time. Nothing here can change after publication.
 */
const RECORD_HEAD = {
  toolId: ToolIdSchema,
  version: VersionSchema,
  provider: NamespaceSchema,
};
const RECORD_TAIL = {
  definitionDigest: DigestSchema,
  manifestDigest: DigestSchema,
  signerKeyId: KeyIdSchema,
  publishedAt: Iso,
  /** Who published: the `actor` of the `version.published` log event, so a client can rebuild the leaf. */
  publishedBy: z.string().max(256),
  leafIndex: z.number().int().min(0),
};

/** A version published as our own signed manifest (POST /v1/tools). */
export const ManifestRecordSchema = z.strictObject({
  ...RECORD_HEAD,
  /** The signed manifest exactly as published. */
  signedManifest: SignedManifestSchema,
  ...RECORD_TAIL,
});
export type ManifestRecord = z.infer<typeof ManifestRecordSchema>;

/**
 * A version published as one tool of a SEP-3140 capability manifest (POST /v1/declarations):
 * `definitionDigest` is the hex form of the declaration's `contentHash` and `manifestDigest` the
 * digest of `{publisher, name, version, contentHash}` (protocol/sep3140.ts declarationEntryDigest),
 * the same digests a host's pins hold for a tool it verified from the server itself.
 */
export const DeclarationRecordSchema = z.strictObject({
  ...RECORD_HEAD,
  /** The capability manifest, its JWS and this tool's declaration, exactly as published. */
  signedDeclaration: SignedDeclarationSchema,
  ...RECORD_TAIL,
});
export type DeclarationRecord = z.infer<typeof DeclarationRecordSchema>;

/** The immutable record of a published version, in whichever format it was published. */
export const VersionRecordSchema = z.union([ManifestRecordSchema, DeclarationRecordSchema]);
export type VersionRecord = z.infer<typeof VersionRecordSchema>;

/** Whether a record is a SEP-3140 declaration (else it is our own signed manifest). */
export const isDeclarationRecord = (record: VersionRecord): record is DeclarationRecord => 'signedDeclaration' in record;

export const KeyStatusSchema = z.strictObject({
  keyId: KeyIdSchema,
  jwk: Ed25519PublicJwkSchema,
  status: z.enum(['active', 'revoked']),
  addedAt: Iso,
  /** Signatures made at or after this time are invalid. */
  revokedFrom: Iso.optional(),
  reason: z.string().optional(),
});
export type KeyStatus = z.infer<typeof KeyStatusSchema>;

/**
 * The mutable, short-lived part: revocation status, the signer key's status, a fresh
 * attestation token and a log inclusion proof against the latest checkpoint.
 */
export const VersionStatusSchema = z.strictObject({
  toolId: ToolIdSchema,
  version: VersionSchema,
  status: z.enum(['active', 'revoked']),
  revocation: z.strictObject({ reason: z.string(), revokedAt: Iso, by: z.string() }).optional(),
  signerKey: KeyStatusSchema,
  attestation: z.string(),
  log: LogEvidenceSchema,
});
export type VersionStatus = z.infer<typeof VersionStatusSchema>;

/** Record and status together: what a host needs to verify a version offline. */
export const VersionBundleSchema = z.strictObject({
  type: z.literal('etdi.bundle/v1'),
  record: VersionRecordSchema,
  status: VersionStatusSchema,
});
export type VersionBundle = z.infer<typeof VersionBundleSchema>;

/** The most versions one bundle-set request may name (a large MCP server lists about a hundred tools). */
export const MAX_BUNDLE_SET = 256;
export const BUNDLE_SET_TYPE = 'etdi.bundle-set/v1';

/** `POST /v1/bundles`: the versions a host needs, typically every tool one server lists. */
export const BundleSetRequestSchema = z.strictObject({
  versions: z
    .array(z.strictObject({ toolId: ToolIdSchema, version: z.union([VersionSchema, z.literal('latest')]) }))
    .min(1)
    .max(MAX_BUNDLE_SET),
});
export type BundleSetRequest = z.infer<typeof BundleSetRequestSchema>;

/**
 * Many bundles under ONE registry attestation (`attestation`, typ `etdi-attestation-set+jwt`),
 * so a host verifying a server's whole tool list checks one registry signature instead of one
 * per tool, and fetches them in one request. The bundles inside carry an empty per-version
 * attestation: the set's token is theirs. `attestation` is empty when no bundle is active.
 */
export const BundleSetSchema = z.strictObject({
  type: z.literal(BUNDLE_SET_TYPE),
  attestation: z.string(),
  bundles: z.array(VersionBundleSchema).max(MAX_BUNDLE_SET),
  /** What each requested `latest` resolved to (its bundle is in `bundles`). */
  latest: z.array(z.strictObject({ toolId: ToolIdSchema, version: VersionSchema })).max(MAX_BUNDLE_SET),
  /** Requested versions the registry does not have (the others are still answered). */
  missing: z
    .array(z.strictObject({ toolId: z.string().max(300), version: z.string().max(70), code: z.enum(['TOOL_NOT_FOUND', 'VERSION_NOT_FOUND']) }))
    .max(MAX_BUNDLE_SET),
});
export type BundleSet = z.infer<typeof BundleSetSchema>;

/** What an attestation says about one version (a single token's claims, or one entry of a set). */
const ATTESTED_VERSION = {
  sub: ToolIdSchema,
  tool_version: VersionSchema,
  provider: NamespaceSchema,
  definition_digest: DigestSchema,
  manifest_digest: DigestSchema,
  /** Space-separated permissions, OAuth style (RFC 8693 `scope`). */
  scope: z.string(),
  log_index: z.number().int().min(0),
};

/** Claims of the registry's attestation JWT (header typ `etdi-attestation+jwt`, alg EdDSA). */
export const AttestationClaimsSchema = z.looseObject({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().int(),
  exp: z.number().int(),
  ...ATTESTED_VERSION,
});
export type AttestationClaims = z.infer<typeof AttestationClaimsSchema>;
export const ATTESTATION_JWT_TYPE = 'etdi-attestation+jwt';

/** One version inside an attestation set: the single attestation's claims less iss, aud, iat and exp. */
export const AttestedVersionSchema = z.strictObject(ATTESTED_VERSION);
export type AttestedVersion = z.infer<typeof AttestedVersionSchema>;

/** Claims of an attestation set (header typ `etdi-attestation-set+jwt`): one token, many versions, one expiry. */
export const AttestationSetClaimsSchema = z.looseObject({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().int(),
  exp: z.number().int(),
  tools: z.array(AttestedVersionSchema).min(1).max(MAX_BUNDLE_SET),
});
export type AttestationSetClaims = z.infer<typeof AttestationSetClaimsSchema>;
export const ATTESTATION_SET_JWT_TYPE = 'etdi-attestation-set+jwt';

// ---------------------------------------------------------------------------------------------
// Request and response bodies of the registry's REST API (docs/REST-API.md).
// ---------------------------------------------------------------------------------------------

/** base64url of a 64-byte Ed25519 signature. */
export const StatementSignatureSchema = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'signature must be 64 bytes, base64url');

const StatementBase = {
  /** The registry's origin (its `iss`): a statement for one registry is worthless at another. */
  registry: z.string().min(1).max(512),
  namespace: NamespaceSchema,
  /** Fresh time: the registry refuses statements outside its clock-skew window, and each statement once. */
  issuedAt: Iso,
  /** Client randomness so that two statements made in the same millisecond differ. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'nonce must be 16-64 base64url chars'),
};

export const REGISTRATION_STATEMENT_TYPE = 'etdi.namespace-registration/v1';
export const KEY_ADD_STATEMENT_TYPE = 'etdi.key-add/v1';
export const TOKEN_STATEMENT_TYPE = 'etdi.token-request/v1';
export const PUBLISHER_JWT_TYPE = 'etdi-publisher+jwt';

/** What the first key signs (proof of possession): names the namespace, the key and the registry. */
export const RegistrationStatementSchema = z.strictObject({
  type: z.literal(REGISTRATION_STATEMENT_TYPE),
  ...StatementBase,
  keyId: KeyIdSchema,
});
export type RegistrationStatement = z.infer<typeof RegistrationStatementSchema>;

/**
 * Domain control the official MCP Registry's way (github.com/modelcontextprotocol/registry,
 * POST /v0/auth/http and /v0/auth/dns): the same body, field names included, so that a provider
 * already on that registry reuses its key and its published record. `signed_timestamp` is the
 * hex Ed25519 signature of the UTF-8 bytes of `timestamp` (RFC 3339, within 15 s of the
 * registry's clock), by the key published as `v=MCPv1; k=ed25519; p=<base64>` at
 * https://<domain>/.well-known/mcp-registry-auth (`http`) or in a TXT record of <domain> (`dns`).
 */
export const McpRegistryProofSchema = z.strictObject({
  method: z.enum(['http', 'dns']),
  /** Lower-case host name; `http` proves exactly its reverse-DNS namespace, `dns` its subdomains too. */
  domain: z
    .string()
    .max(253)
    .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/, 'domain must be a lower-case host name (example.com)'),
  /** RFC 3339 (Go's time.RFC3339, which the official registry parses): seconds, optional fraction, `Z` or an offset. */
  timestamp: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/, 'timestamp must be RFC 3339 (2025-01-01T00:00:00Z)'),
  signed_timestamp: z.string().regex(/^[0-9a-fA-F]{128}$/, 'signed_timestamp must be a 64-byte Ed25519 signature, hex'),
});
export type McpRegistryProof = z.infer<typeof McpRegistryProofSchema>;

/** POST /v1/namespaces. `signature` is Ed25519 by `jwk` over JCS(statement). */
export const RegisterNamespaceRequestSchema = z
  .strictObject({
    statement: RegistrationStatementSchema,
    jwk: Ed25519PublicJwkSchema,
    signature: StatementSignatureSchema,
    /** `well-known`: the registry fetches https://<reversed namespace>/.well-known/etdi-namespace.json; `admin-grant`: admin token required. */
    verification: z.enum(['well-known', 'admin-grant']),
    /** With `well-known` only: domain control proven by the official MCP Registry's record instead of etdi-namespace.json. */
    mcpRegistryProof: McpRegistryProofSchema.optional(),
  })
  .refine((r) => r.mcpRegistryProof === undefined || r.verification === 'well-known', {
    message: "mcpRegistryProof proves domain control: it goes with verification 'well-known', not an admin grant",
    path: ['mcpRegistryProof'],
  });
export type RegisterNamespaceRequest = z.infer<typeof RegisterNamespaceRequestSchema>;

/** The domain-control document served at https://<domain>/.well-known/etdi-namespace.json. */
export const NamespaceWellKnownSchema = z.looseObject({
  namespace: NamespaceSchema,
  keys: z.array(KeyIdSchema).min(1).max(64),
});
export type NamespaceWellKnown = z.infer<typeof NamespaceWellKnownSchema>;

/** A new key, authorised by an active key of the namespace. */
export const KeyAddStatementSchema = z.strictObject({
  type: z.literal(KEY_ADD_STATEMENT_TYPE),
  ...StatementBase,
  keyId: KeyIdSchema,
  jwk: Ed25519PublicJwkSchema,
  authorizedBy: KeyIdSchema,
});
export type KeyAddStatement = z.infer<typeof KeyAddStatementSchema>;

/** POST /v1/namespaces/:namespace/keys: `signature` by `authorizedBy`, `proof` by the new key (possession). */
export const AddKeyRequestSchema = z.strictObject({
  statement: KeyAddStatementSchema,
  signature: StatementSignatureSchema,
  proof: StatementSignatureSchema,
});
export type AddKeyRequest = z.infer<typeof AddKeyRequestSchema>;

/** POST /v1/namespaces/:namespace/keys/:keyId/revoke */
export const RevokeKeyRequestSchema = z.strictObject({
  /** Signatures made at or after this time are invalid; default: now. May be in the past (compromise time). */
  revokedFrom: Iso.optional(),
  reason: z.string().min(1).max(1024),
});
export type RevokeKeyRequest = z.infer<typeof RevokeKeyRequestSchema>;

/** POST /v1/tools/:namespace/:name/versions/:version/revoke */
export const RevokeVersionRequestSchema = z.strictObject({
  reason: z.string().min(1).max(1024),
});
export type RevokeVersionRequest = z.infer<typeof RevokeVersionRequestSchema>;

/** What an active key signs to obtain a publisher token. */
export const TokenStatementSchema = z.strictObject({
  type: z.literal(TOKEN_STATEMENT_TYPE),
  ...StatementBase,
  keyId: KeyIdSchema,
});
export type TokenStatement = z.infer<typeof TokenStatementSchema>;

/** POST /v1/tokens */
export const TokenRequestSchema = z.strictObject({
  statement: TokenStatementSchema,
  signature: StatementSignatureSchema,
});
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

export const TokenResponseSchema = z.strictObject({
  token_type: z.literal('Bearer'),
  access_token: z.string(),
  expires_in: z.number().int().positive(),
  namespace: NamespaceSchema,
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** Claims of a publisher token (header typ `etdi-publisher+jwt`, alg EdDSA, signed by the registry). */
export const PublisherTokenClaimsSchema = z.looseObject({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: NamespaceSchema,
  key_id: KeyIdSchema,
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string(),
});
export type PublisherTokenClaims = z.infer<typeof PublisherTokenClaimsSchema>;

export const NamespaceInfoSchema = z.strictObject({
  namespace: NamespaceSchema,
  verification: z.enum(['well-known', 'admin-grant']),
  registeredAt: Iso,
  leafIndex: z.number().int().min(0),
  activeKeys: z.number().int().min(0),
  tools: z.number().int().min(0),
});
export type NamespaceInfo = z.infer<typeof NamespaceInfoSchema>;

export const KeyListResponseSchema = z.array(KeyStatusSchema);

export const ToolSummarySchema = z.strictObject({
  toolId: ToolIdSchema,
  provider: NamespaceSchema,
  name: z.string(),
  latestVersion: VersionSchema,
  title: z.string().optional(),
  description: z.string().optional(),
  updatedAt: Iso,
});
export type ToolSummary = z.infer<typeof ToolSummarySchema>;

export const ToolListResponseSchema = z.strictObject({
  items: z.array(ToolSummarySchema),
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  nextCursor: z.string().optional(),
});
export type ToolListResponse = z.infer<typeof ToolListResponseSchema>;

export const VersionSummarySchema = z.strictObject({
  version: VersionSchema,
  status: z.enum(['active', 'revoked']),
  publishedAt: Iso,
  manifestDigest: DigestSchema,
});
export type VersionSummary = z.infer<typeof VersionSummarySchema>;

export const VersionListResponseSchema = z.strictObject({
  toolId: ToolIdSchema,
  /** Newest first (semver order), one page (`limit`, 100 by default, at most 200). */
  versions: z.array(VersionSummarySchema).max(200),
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  nextCursor: z.string().optional(),
});
export type VersionListResponse = z.infer<typeof VersionListResponseSchema>;

export const JwksSchema = z.strictObject({ keys: z.array(Ed25519PublicJwkSchema) });
export type Jwks = z.infer<typeof JwksSchema>;

export const RegistryKeyRotationResponseSchema = z.strictObject({ kid: z.string(), previous: z.array(z.string()) });

/** POST /v1/admin/registry-keys/:kid/revoke: the key signing now, the one revoked, the retired ones still served. */
export const RegistryKeyRevocationResponseSchema = z.strictObject({ kid: z.string(), revoked: z.string(), previous: z.array(z.string()) });
export type RegistryKeyRevocationResponse = z.infer<typeof RegistryKeyRevocationResponseSchema>;

/** GET /readyz: each dependency of a write, and whether it is usable now. */
export const ReadinessSchema = z.strictObject({
  status: z.enum(['ready', 'unready']),
  checks: z.strictObject({
    database: z.enum(['ok', 'failed']),
    log: z.enum(['ok', 'failed']),
    writer: z.enum(['ok', 'restarting', 'failed']),
  }),
  /** Write-worker restarts since the registry started. */
  writerRestarts: z.number().int().nonnegative(),
});
export type Readiness = z.infer<typeof ReadinessSchema>;

/** Most tools one SEP-3140 publish may carry (each is stored with the whole manifest: this bounds the copies). */
export const MAX_DECLARATIONS_PER_PUBLISH = MAX_BUNDLE_SET;

/**
 * `POST /v1/declarations`: a SEP-3140 server's signed capability manifest and the declaration of
 * every tool it lists. The JWS must verify with a key of the publisher's namespace: `signingKey`
 * is the entry of the publisher's JWKS that the JWS `kid` names (its RFC 7638 thumbprint must be a
 * registered key), or, without it, the `kid` must be that thumbprint.
 */
export const DeclarationsPublishSchema = z.strictObject({
  signed: SignedDeclarationsManifestSchema,
  declarations: z.array(ToolDeclarationSchema).min(1).max(MAX_DECLARATIONS_PER_PUBLISH),
  signingKey: DeclarationsSigningKeySchema.optional(),
});
export type DeclarationsPublish = z.infer<typeof DeclarationsPublishSchema>;

/** The answer to a SEP-3140 publish: each tool's version as stored (`created` false for an identical republish). */
export const DeclarationsPublishResultSchema = z.strictObject({
  provider: NamespaceSchema,
  tools: z
    .array(
      z.strictObject({
        toolId: ToolIdSchema,
        version: VersionSchema,
        created: z.boolean(),
        definitionDigest: DigestSchema,
        manifestDigest: DigestSchema,
        leafIndex: z.number().int().min(0),
      }),
    )
    .max(MAX_DECLARATIONS_PER_PUBLISH),
});
export type DeclarationsPublishResult = z.infer<typeof DeclarationsPublishResultSchema>;
