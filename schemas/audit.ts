import { z } from 'zod';
import { DIGEST_PATTERN } from './limits.js';

/**
 * One line of the decision trail (`etdi proxy --audit-log`, the SDK wrapper's `onDecision`): a
 * JSON object per decision, so that a security team can ship it to its log system as is.
 * The schema is stable: fields are only ever added (optional), never renamed or re-typed; a
 * breaking change would get a new `type`. Documented in docs/VERIFIER.md, "Decision trail".
 */
export const AUDIT_EVENT_TYPE = 'etdi.audit/v1';

const Code = z.string().regex(/^[A-Z][A-Z0-9_]*$/);
const Digest = z.string().regex(DIGEST_PATTERN);

const base = {
  type: z.literal(AUDIT_EVENT_TYPE),
  /** When the decision was made (RFC 3339, UTC). */
  time: z.iso.datetime({ offset: false }),
  /** The server, as the host names it (the proxy: its server command or URL). */
  serverId: z.string(),
  /** The tool's name as the server lists it. */
  tool: z.string(),
  /** The signed tool id and version, when the tool's manifest was found. */
  toolId: z.string().optional(),
  version: z.string().optional(),
};

/**
 * Why a tool event was written: the tool was seen for the first time, its live definition
 * changed since the last listing (announced or not), its decision changed with the same
 * definition (an approval, a revocation), or it is no longer listed.
 */
export const ToolEventChangeSchema = z.enum(['first', 'definition', 'decision']);

const definitionFields = {
  change: ToolEventChangeSchema,
  /** SHA-256 of the live definition's RFC 8785 bytes (as signed: a carried manifest dropped). */
  definitionDigest: Digest.optional(),
  /** The digest of the definition the previous listing had (change `definition`). */
  previousDigest: Digest.optional(),
};

/** A verified, approved tool handed to the host. */
export const ToolListedEventSchema = z.strictObject({ ...base, event: z.literal('tool.listed'), ...definitionFields });

/** A tool kept from the host, with the verifier's code (RUG_PULL, UNSIGNED, NEEDS_APPROVAL, ...). */
export const ToolWithheldEventSchema = z.strictObject({ ...base, event: z.literal('tool.withheld'), ...definitionFields, code: Code, message: z.string() });

/** A tool the server listed before and lists no more. */
export const ToolRemovedEventSchema = z.strictObject({ ...base, event: z.literal('tool.removed'), previousDigest: Digest.optional() });

/** What a policy engine said about a call (Cedar policy ids and sentences a person can act on). */
export const PolicyOutcomeSchema = z.strictObject({ policyIds: z.array(z.string()), reasons: z.array(z.string()) });

/** A call that passed every check and was sent to the server. */
export const CallAllowedEventSchema = z.strictObject({
  ...base,
  event: z.literal('call.allowed'),
  definitionDigest: Digest.optional(),
  policy: PolicyOutcomeSchema.optional(),
});

/** A call refused before it reached the server, with the code and, for POLICY_DENIED, the policy's reasons. */
export const CallRefusedEventSchema = z.strictObject({
  ...base,
  event: z.literal('call.refused'),
  code: Code,
  message: z.string(),
  policy: PolicyOutcomeSchema.optional(),
});

/** A person's approval recorded in the lockfile: who, which version, what changed since the last one. */
export const ToolApprovedEventSchema = z.strictObject({
  ...base,
  event: z.literal('tool.approved'),
  toolId: z.string(),
  version: z.string(),
  /** Who approved (the host's user id, `etdi approve`'s operator). */
  by: z.string(),
  /** Why an approval was needed: NEEDS_APPROVAL, NEW_VERSION or PERMISSION_ESCALATION. */
  code: Code,
  permissions: z.array(z.string()),
  previousVersion: z.string().optional(),
  /** What changed against the previous approval, one line each ("+ permission files:write"). */
  changes: z.array(z.string()),
  definitionDigest: Digest.optional(),
});

export const AuditEventSchema = z.discriminatedUnion('event', [
  ToolListedEventSchema,
  ToolWithheldEventSchema,
  ToolRemovedEventSchema,
  CallAllowedEventSchema,
  CallRefusedEventSchema,
  ToolApprovedEventSchema,
]);

export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type ToolEventChange = z.infer<typeof ToolEventChangeSchema>;
export type PolicyOutcome = z.infer<typeof PolicyOutcomeSchema>;
