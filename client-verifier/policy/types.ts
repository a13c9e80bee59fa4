import type { HostPolicyConfig, ToolPolicy } from '@etdi/schemas';
import type { CedarModule } from './cedar.js';

/** The SEP-3140 facts of a tool a policy may read (`context.trust`). */
export interface TrustContext {
  effect: string;
  egress: string;
  dataSensitivity: string;
  reversible: boolean;
  idempotent: boolean;
  publisher: string;
  /** `pinned-key`, `allow-listed` or `first-use` (the host's publisher policy), or `registry` (a declaration verified from the registry). */
  basis: string;
}

/** One call the host is about to make, as the policy layer sees it (docs/POLICIES.md). */
export interface InvocationRequest {
  /** The agent or user on whose behalf the call is made. `type` is `Agent` (default) or `User`. */
  principal: { id: string; type?: string };
  tool: {
    toolId: string;
    version: string;
    provider: string;
    /** Every permission the verified manifest declares. */
    permissions: string[];
    /** The subset the user approved (from the pin). */
    approvedPermissions: string[];
    /** The verified definition's MCP annotations. */
    annotations?: object;
    /** The verified manifest's policy. */
    policy?: ToolPolicy;
    /**
     * A SEP-3140 tool's verified trust labels (absent or unknown ones at their most restrictive),
     * its publisher and why that publisher is trusted. Cedar sees them as `context.trust`.
     */
    trust?: TrustContext;
  };
  arguments: Record<string, unknown>;
  session: { id: string };
  /** Tool ids of the calls this one is nested in, outermost first, not including this tool. */
  callChain: string[];
  /** Permissions this call needs (default: all of tool.permissions). */
  requiredPermissions?: string[];
  /** The time of the call (default: the engine's clock). */
  now?: Date;
  /** Labels the host attached to the data this call carries (taint tracking), e.g. "sensitive". */
  dataLabels?: string[];
  /** The approved permissions of tools in callChain, by tool id; an unknown caller counts as holding none. */
  callerPermissions?: Record<string, string[]>;
}

export interface PolicyDecision {
  allowed: boolean;
  /** Sentences a person can act on: what permitted or what denied, and why. */
  reasons: string[];
  /**
   * What decided: Cedar policy ids as `tool:<id>` / `host:<id>` (Cedar's diagnostics.reason, plus
   * forbids that could not be evaluated), and the host's own constraints as `pin:*`,
   * `call-chain:*` and `rate-limit:<rule>`.
   */
  policyIds: string[];
}

/** The host configuration (policies, call-chain constraints, rate limits) plus runtime hooks. */
export interface PolicyEngineOptions extends HostPolicyConfig {
  /** Cedar's engine; default the Node build of @cedar-policy/cedar-wasm. */
  cedar?: CedarModule;
  /** Clock for calls without `now`. */
  clock?: () => Date;
  /** Distinct tool policy texts kept pre-parsed (least recently used beyond this are re-parsed). Default 256. */
  maxCachedToolPolicies?: number;
  /** (session, tool, rule) windows tracked for rate limits; the least recently used beyond this are forgotten. Default 100000. */
  maxRateLimitKeys?: number;
  /** Deepest nesting of the arguments object (deeper: denied). Default 32. */
  maxArgumentDepth?: number;
  /** Most values in the arguments object (more: denied). Default 100000. */
  maxArgumentValues?: number;
  /**
   * Send Cedar only the request attributes some policy can read (default true). Off, every
   * attribute is sent; decisions are the same, only slower (docs/POLICIES.md, "Performance").
   */
  projectRequests?: boolean;
}
