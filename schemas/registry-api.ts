import { z } from 'zod';
import { Ed25519PublicJwkSchema, KeyIdSchema } from './jwk.js';
import { LogEvidenceSchema } from './log.js';
import { DigestSchema, NamespaceSchema, SignedManifestSchema, ToolIdSchema, VersionSchema } from './manifest.js';

const Iso = z.iso.datetime({ offset: false });

/**
 * The immutable part of a published version: served with a strong ETag and cached for a long
 * time. Nothing here can change after publication.
 */
export const VersionRecordSchema = z.strictObject({
  toolId: ToolIdSchema,
  version: VersionSchema,
  provider: NamespaceSchema,
  /** The signed manifest exactly as published. */
  signedManifest: SignedManifestSchema,
  definitionDigest: DigestSchema,
  manifestDigest: DigestSchema,
  signerKeyId: KeyIdSchema,
  publishedAt: Iso,
  leafIndex: z.number().int().min(0),
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;

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

/** Claims of the registry's attestation JWT (header typ `etdi-attestation+jwt`, alg EdDSA). */
export const AttestationClaimsSchema = z.looseObject({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: ToolIdSchema,
  iat: z.number().int(),
  exp: z.number().int(),
  tool_version: VersionSchema,
  provider: NamespaceSchema,
  definition_digest: DigestSchema,
  manifest_digest: DigestSchema,
  /** Space-separated permissions, OAuth style (RFC 8693 `scope`). */
  scope: z.string(),
  log_index: z.number().int().min(0),
});
export type AttestationClaims = z.infer<typeof AttestationClaimsSchema>;
export const ATTESTATION_JWT_TYPE = 'etdi-attestation+jwt';
