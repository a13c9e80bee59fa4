import { z } from 'zod';
import { OpaqueJsonObjectSchema } from './json.js';
import { KeyIdSchema } from './jwk.js';
import {
  DIGEST_PATTERN,
  LIMITS,
  MANIFEST_META_KEY,
  NAMESPACE_PATTERN,
  PERMISSION_PATTERN,
  SEMVER_PATTERN,
  SIGNATURE_PATTERN,
} from './limits.js';
import { isDistinct, isSignedDefinitionMeta, isToolId, toolIdOfManifest } from './refinements.js';
import { ToolDefinitionSchema } from './tool-definition.js';

export const NamespaceSchema = z
  .string()
  .max(LIMITS.maxNamespaceLength)
  .regex(NAMESPACE_PATTERN, 'namespace must be reverse-DNS, lower-case ASCII, at least two labels (com.acme)');

export const ToolIdSchema = z
  .string()
  .max(LIMITS.maxNamespaceLength + 1 + LIMITS.maxToolNameLength)
  .refine(isToolId, 'tool id must be <namespace>/<tool-name>');

export const VersionSchema = z.string().max(LIMITS.maxVersionLength).regex(SEMVER_PATTERN, 'version must be semver 2.0.0');

export const PermissionSchema = z.string().regex(PERMISSION_PATTERN, 'permission must be an OAuth scope token');

export const DigestSchema = z.string().regex(DIGEST_PATTERN, 'digest must be sha256:<64 hex>');

/** A Cedar policy set (and optional Cedar JSON schema) carried inside the signed manifest. */
export const ToolPolicySchema = z.strictObject({
  language: z.literal('cedar'),
  policies: z.string().min(1).max(LIMITS.maxPolicyBytes),
  schema: OpaqueJsonObjectSchema.optional(),
});
export type ToolPolicy = z.infer<typeof ToolPolicySchema>;

/** The definition as it is signed (see MANIFEST_META_KEY): no empty `_meta`, no manifest key. */
export const SignedDefinitionSchema = ToolDefinitionSchema.refine((d) => isSignedDefinitionMeta(d._meta), {
  message: `a signed definition carries no empty _meta and no "${MANIFEST_META_KEY}" key`, path: ['_meta'] },
);

export const MANIFEST_TYPE = 'etdi.tool-manifest/v1';

/**
 * The tool manifest: what a provider signs. Strict: our own format, so an unknown member is an
 * error rather than something a verifier might ignore.
 */
export const ToolManifestSchema = z
  .strictObject({
    type: z.literal(MANIFEST_TYPE),
    toolId: ToolIdSchema,
    version: VersionSchema,
    provider: NamespaceSchema,
    definition: SignedDefinitionSchema,
    permissions: z
      .array(PermissionSchema)
      .max(LIMITS.maxPermissions)
      .refine(isDistinct, 'permissions must not repeat'),
    policy: ToolPolicySchema.optional(),
    issuedAt: z.iso.datetime({ offset: false, precision: undefined }),
  })
  .superRefine((m, ctx) => {
    for (const issue of toolIdOfManifest(m)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type ToolManifest = z.infer<typeof ToolManifestSchema>;

export const ManifestSignatureSchema = z.strictObject({
  keyId: KeyIdSchema,
  alg: z.literal('EdDSA'),
  /** base64url of the 64-byte Ed25519 signature over JCS(manifest). */
  sig: z.string().regex(SIGNATURE_PATTERN, 'sig must be a 64-byte Ed25519 signature, base64url'),
});
export type ManifestSignature = z.infer<typeof ManifestSignatureSchema>;

/** The envelope on the wire and on disk: the manifest and one or more signatures over it. */
export const SignedManifestSchema = z.strictObject({
  manifest: ToolManifestSchema,
  signatures: z
    .array(ManifestSignatureSchema)
    .min(1)
    .max(LIMITS.maxSignatures)
    .refine((s) => isDistinct(s.map((x) => x.keyId)), 'one signature per key'),
});
export type SignedManifest = z.infer<typeof SignedManifestSchema>;
