import { z } from 'zod';
import { Ed25519PublicJwkSchema, KeyIdSchema } from './jwk.js';
import { DigestSchema, NamespaceSchema, ToolIdSchema, VersionSchema } from './manifest.js';

const Base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'hash must be 32 bytes, standard base64');
const TreeSize = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Iso = z.iso.datetime({ offset: false });

/** RFC 9162 inclusion proof of leaf `leafIndex` in the tree of size `treeSize`. */
export const InclusionProofSchema = z.strictObject({
  leafIndex: TreeSize,
  treeSize: TreeSize,
  hashes: z.array(Base64Hash).max(64),
});
export type InclusionProof = z.infer<typeof InclusionProofSchema>;

/** RFC 9162 consistency proof between the trees of sizes `size1` <= `size2`. */
export const ConsistencyProofSchema = z.strictObject({
  size1: TreeSize,
  size2: TreeSize,
  hashes: z.array(Base64Hash).max(128),
});
export type ConsistencyProof = z.infer<typeof ConsistencyProofSchema>;

/** A checkpoint as served: the C2SP signed note text, exactly as signed. */
export const SignedCheckpointSchema = z.strictObject({
  note: z.string().max(8192),
});

/** The evidence that a record is in the log: its leaf, a proof, and the checkpoint it proves against. */
export const LogEvidenceSchema = z.strictObject({
  leafIndex: TreeSize,
  inclusionProof: InclusionProofSchema,
  checkpoint: z.string().max(8192),
});
export type LogEvidence = z.infer<typeof LogEvidenceSchema>;

export const LOG_EVENT_TYPE = 'etdi.log-event/v1';

const EventBase = { type: z.literal(LOG_EVENT_TYPE), at: Iso, actor: z.string().max(256) };

/**
 * Every registry state change, as a transparency-log leaf. The leaf data is JCS(event).
 * `actor` is who made the change: `key:<keyId>`, `token:<name>` or `admin:<name>`.
 */
export const LogEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...EventBase,
    kind: z.literal('namespace.registered'),
    namespace: NamespaceSchema,
    keyId: KeyIdSchema,
    jwk: Ed25519PublicJwkSchema,
    verification: z.enum(['well-known', 'admin-grant']),
    /** Domain control proven by the official MCP Registry's record (its HTTP or DNS method), not etdi-namespace.json. */
    proof: z.enum(['mcp-registry-http', 'mcp-registry-dns']).optional(),
  }),
  z.strictObject({
    ...EventBase,
    kind: z.literal('key.added'),
    namespace: NamespaceSchema,
    keyId: KeyIdSchema,
    jwk: Ed25519PublicJwkSchema,
    authorizedBy: KeyIdSchema.optional(),
  }),
  z.strictObject({
    ...EventBase,
    kind: z.literal('key.revoked'),
    namespace: NamespaceSchema,
    keyId: KeyIdSchema,
    revokedFrom: Iso,
    reason: z.string().max(1024),
  }),
  z.strictObject({
    ...EventBase,
    kind: z.literal('version.published'),
    namespace: NamespaceSchema,
    toolId: ToolIdSchema,
    version: VersionSchema,
    manifestDigest: DigestSchema,
    definitionDigest: DigestSchema,
    signerKeyId: KeyIdSchema,
  }),
  z.strictObject({
    ...EventBase,
    kind: z.literal('version.revoked'),
    namespace: NamespaceSchema,
    toolId: ToolIdSchema,
    version: VersionSchema,
    reason: z.string().min(1).max(1024),
  }),
]);
export type LogEvent = z.infer<typeof LogEventSchema>;

export const LogEntrySchema = z.strictObject({
  index: TreeSize,
  /** The leaf data: JCS(event) as UTF-8 text. */
  data: z.string(),
});
export type LogEntry = z.infer<typeof LogEntrySchema>;

/** GET /v1/log/entries: leaves [start, end) (`end` clamped to the page size and the tree). */
export const LogEntriesResponseSchema = z.strictObject({
  start: TreeSize,
  end: TreeSize,
  treeSize: TreeSize,
  /** How `data` is encoded: the leaf bytes as UTF-8 text, or standard base64. */
  encoding: z.enum(['utf8', 'base64']),
  entries: z.array(LogEntrySchema),
});
export type LogEntriesResponse = z.infer<typeof LogEntriesResponseSchema>;
