import { z } from 'zod';
import { KeyIdSchema } from './jwk.js';
import { DigestSchema, NamespaceSchema, PermissionSchema, ToolIdSchema, VersionSchema } from './manifest.js';

export const LOCKFILE_TYPE = 'etdi.lockfile/v1';

const Iso = z.iso.datetime({ offset: false });

/** The four MCP annotation hints as approved, kept so a newer version's riskier hints are seen offline. */
export const PinnedHintsSchema = z.strictObject({
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});
export type PinnedHints = z.infer<typeof PinnedHintsSchema>;

/** One approved tool: what the user saw and accepted. */
export const LockfilePinSchema = z
  .strictObject({
    toolId: ToolIdSchema,
    version: VersionSchema,
    provider: NamespaceSchema,
    definitionDigest: DigestSchema,
    manifestDigest: DigestSchema,
    signerKeyId: KeyIdSchema,
    /** Every permission the approved version declares. */
    permissions: z.array(PermissionSchema).max(64),
    /** What the user granted: a subset of `permissions`. */
    approvedPermissions: z.array(PermissionSchema).max(64),
    hints: PinnedHintsSchema,
    /**
     * Digest of what is material about the approved version (its definition less title and
     * icons, its permissions and policy), so that a newer version whose only changes are
     * cosmetic is recognised without the old definition. Absent in pins written before it.
     */
    materialDigest: DigestSchema.optional(),
    approvedAt: Iso,
  })
  .superRefine((p, ctx) => {
    const declared = new Set(p.permissions);
    for (const perm of p.approvedPermissions)
      if (!declared.has(perm))
        ctx.addIssue({ code: 'custom', path: ['approvedPermissions'], message: `"${perm}" is not declared by the tool` });
  });
export type LockfilePin = z.infer<typeof LockfilePinSchema>;

/** The newest log checkpoint the client verified (C2SP signed note, exactly as signed). */
export const LockfileCheckpointSchema = z.strictObject({
  origin: z.string().min(1).max(256),
  treeSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  note: z.string().max(8192),
});
export type LockfileCheckpoint = z.infer<typeof LockfileCheckpointSchema>;

/** The client's approvals, meant to be committed: JSON, keys in a stable order (see client-verifier/lockfile.ts). */
export const LockfileSchema = z
  .strictObject({
    type: z.literal(LOCKFILE_TYPE),
    tools: z.record(ToolIdSchema, LockfilePinSchema),
    checkpoint: LockfileCheckpointSchema.optional(),
  })
  .superRefine((l, ctx) => {
    for (const [id, pin] of Object.entries(l.tools))
      if (pin.toolId !== id) ctx.addIssue({ code: 'custom', path: ['tools', id, 'toolId'], message: `must be "${id}"` });
  });
export type Lockfile = z.infer<typeof LockfileSchema>;
