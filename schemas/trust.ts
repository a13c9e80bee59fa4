import { z } from 'zod';
import { Ed25519PublicJwkSchema } from './jwk.js';

/** A C2SP signed-note verifier key: `<name>+<8 hex key id>+<base64 key>`. */
const NoteVerifierKeySchema = z.string().regex(/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/, 'must be a C2SP note verifier key (<name>+<hex id>+<base64 key>)');

/** `GET /v1/log/key`: the log's checkpoint origin and its note verifier key. */
export const LogKeyResponseSchema = z.object({
  origin: z.string().min(1).max(256),
  verifierKey: NoteVerifierKeySchema,
  jwk: Ed25519PublicJwkSchema,
});
export type LogKeyResponse = z.infer<typeof LogKeyResponseSchema>;

export const REGISTRY_METADATA_PATH = '/.well-known/etdi-registry.json';

/**
 * `GET /.well-known/etdi-registry.json`: the small document a host reads to bootstrap its trust
 * root: the issuer (`iss`) and audience (`aud`) of the registry's attestations, where its JWKS
 * is, and its log. It says what to pin; it is not itself trusted (`etdi trust init` shows the
 * fingerprints for a person to compare, or checks them against expected ones).
 */
export const RegistryMetadataSchema = z.object({
  issuer: z.string().min(1).max(2048),
  audience: z.string().min(1).max(256),
  jwksUri: z.string().min(1).max(2048),
  log: z.object({ origin: z.string().min(1).max(256), verifierKey: NoteVerifierKeySchema }),
});
export type RegistryMetadata = z.infer<typeof RegistryMetadataSchema>;

export const TRUST_FILE_TYPE = 'etdi.trust/v1';

/**
 * What a host pins about a registry (`etdi.lock.trust.json`, committed with the lockfile): its
 * attestation keys (by RFC 7638 id), its log's note verifier key and origin, issuer and audience.
 * A registry that later swaps its keys is refused instead of silently re-trusted.
 */
export const TrustFileSchema = z.strictObject({
  type: z.literal(TRUST_FILE_TYPE),
  registry: z.string().min(1),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  jwks: z.strictObject({ keys: z.array(Ed25519PublicJwkSchema).min(1).max(64) }),
  pinnedKeyIds: z.array(z.string()).min(1).max(64),
  logKey: NoteVerifierKeySchema,
  /** The checkpoint origin line the log uses; checked on every checkpoint when present. */
  logOrigin: z.string().min(1).optional(),
});
export type TrustFile = z.infer<typeof TrustFileSchema>;
