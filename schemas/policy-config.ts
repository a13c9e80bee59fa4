import { z } from 'zod';
import { OpaqueJsonObjectSchema } from './json.js';

/**
 * The host's policy configuration (docs/POLICIES.md): its own Cedar policies, the call-chain
 * constraints and the per-session rate limits, in one document so that a host states every rule
 * that gates an invocation in one place. Strict objects: a misspelt constraint must be an error,
 * never a silently ignored (and so unenforced) rule.
 */

/** Largest host Cedar policy text accepted per source (host-written, so generous). */
export const MAX_HOST_POLICY_BYTES = 1024 * 1024;

/**
 * A tool-id pattern: an exact tool id (`com.acme/search`), or a glob where `*` matches any run of
 * characters (`com.acme/*`, `*`).
 */
export const ToolPatternSchema = z
  .string()
  .min(1)
  .max(300)
  .regex(/^[A-Za-z0-9_.\-/*]+$/, 'tool pattern must be a tool id, optionally with * wildcards');

export const CallChainRuleSchema = z.strictObject({
  /** The tool(s) this rule is about. */
  tool: ToolPatternSchema,
  /** The immediate caller of a matching tool must match one of these. A direct call has no caller and passes. */
  allowedCallers: z.array(ToolPatternSchema).max(1000).optional(),
  /** No tool anywhere upstream in the chain of a matching tool may match one of these. */
  blockedCallers: z.array(ToolPatternSchema).max(1000).optional(),
  /** A matching tool may call directly only tools that match one of these. */
  allowedCallees: z.array(ToolPatternSchema).max(1000).optional(),
  /** A matching tool may not call, directly or through other tools, a tool that matches one of these. */
  blockedCallees: z.array(ToolPatternSchema).max(1000).optional(),
});
export type CallChainRule = z.infer<typeof CallChainRuleSchema>;

export const CallChainConstraintsSchema = z.strictObject({
  /** Most tools allowed above this call in the chain (0: no tool may call another). Default 8. */
  maxDepth: z.number().int().min(0).max(1024).optional(),
  /** Deny a call whose tool is already in its own chain, or a chain that repeats a tool. Default true. */
  denyCircular: z.boolean().optional(),
  rules: z.array(CallChainRuleSchema).max(10_000).optional(),
});
export type CallChainConstraints = z.infer<typeof CallChainConstraintsSchema>;

export const RateLimitRuleSchema = z.strictObject({
  /** Names the rule in decisions (`rate-limit:<id>`); default: its index. */
  id: z.string().min(1).max(128).optional(),
  tool: ToolPatternSchema,
  /** Calls allowed per tool per session within the sliding window. */
  maxCalls: z.number().int().min(1).max(1_000_000),
  windowSeconds: z.number().positive().max(366 * 24 * 3600),
});
export type RateLimitRule = z.infer<typeof RateLimitRuleSchema>;

/** A host Cedar policy text. `id` names the source (e.g. its file name) in policy ids. */
export const HostPolicyTextSchema = z.strictObject({
  id: z.string().min(1).max(128).optional(),
  text: z.string().min(1).max(MAX_HOST_POLICY_BYTES),
});
export type HostPolicyText = z.infer<typeof HostPolicyTextSchema>;

/** A Cedar policy file, relative to the configuration file that names it. */
export const HostPolicyFileRefSchema = z.strictObject({
  id: z.string().min(1).max(128).optional(),
  file: z.string().min(1).max(4096),
});

/** Fields shared by the on-disk document and the engine's options. */
const HostPolicyRulesShape = {
  /** A Cedar JSON schema; when present the host policies must validate against it at start. */
  schema: OpaqueJsonObjectSchema.optional(),
  callChain: CallChainConstraintsSchema.optional(),
  rateLimits: z.array(RateLimitRuleSchema).max(10_000).optional(),
  /** IANA time zone for `context.now.hour` and friends. Default "UTC". */
  timeZone: z.string().min(1).max(64).optional(),
};

/** The configuration with every policy text inline: what PolicyEngine.create takes. */
export const HostPolicyConfigSchema = z.strictObject({
  policies: z.array(HostPolicyTextSchema).max(10_000).optional(),
  ...HostPolicyRulesShape,
});
export type HostPolicyConfig = z.infer<typeof HostPolicyConfigSchema>;

/** The configuration file on disk: policies inline or as files next to it. */
export const HostPolicyConfigFileSchema = z.strictObject({
  policies: z.array(z.union([HostPolicyTextSchema, HostPolicyFileRefSchema])).max(10_000).optional(),
  ...HostPolicyRulesShape,
});
export type HostPolicyConfigFile = z.infer<typeof HostPolicyConfigFileSchema>;
