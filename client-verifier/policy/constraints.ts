import type { CallChainConstraints, RateLimitRule } from '@etdi/schemas';

/** One reason to deny, named by what decided it. */
export interface Denial {
  id: string;
  reason: string;
}

/** Default most tools above a call (ETDI's call-chain depth); a safe bound rather than none. */
export const DEFAULT_MAX_DEPTH = 8;

/** Compiles a tool pattern (exact id, or `*` wildcards) once, into a matcher. */
export function compileToolPattern(pattern: string): (toolId: string) => boolean {
  if (!pattern.includes('*')) return (id) => id === pattern;
  if (pattern === '*') return () => true;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.\\+?^${}()|[\]-]/g, '\\$&')).join('.*')}$`, 's');
  return (id) => re.test(id);
}

function anyOf(patterns: readonly string[] | undefined): ((id: string) => boolean) | undefined {
  if (patterns === undefined) return undefined;
  const matchers = patterns.map(compileToolPattern);
  return (id) => matchers.some((m) => m(id));
}

interface CompiledRule {
  index: number;
  tool: (id: string) => boolean;
  allowedCallers: ((id: string) => boolean) | undefined;
  blockedCallers: ((id: string) => boolean) | undefined;
  allowedCallees: ((id: string) => boolean) | undefined;
  blockedCallees: ((id: string) => boolean) | undefined;
}

/** Whether a chain (outermost first) plus the tool being called revisits a tool. */
export function isCircular(toolId: string, callChain: readonly string[]): boolean {
  return callChain.includes(toolId) || new Set(callChain).size !== callChain.length;
}

/**
 * ETDI's call-chain constraints (docs/POLICIES.md, "Call chains"). Blocking is transitive (a
 * blocked tool anywhere upstream taints the call, so laundering it through an intermediate tool
 * does not help); allowing is about the direct edge (who may call me, whom may I call).
 */
export class CallChainChecker {
  readonly maxDepth: number;
  readonly denyCircular: boolean;
  private readonly rules: CompiledRule[];

  constructor(constraints: CallChainConstraints | undefined) {
    this.maxDepth = constraints?.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.denyCircular = constraints?.denyCircular ?? true;
    this.rules = (constraints?.rules ?? []).map((r, index) => ({
      index,
      tool: compileToolPattern(r.tool),
      allowedCallers: anyOf(r.allowedCallers),
      blockedCallers: anyOf(r.blockedCallers),
      allowedCallees: anyOf(r.allowedCallees),
      blockedCallees: anyOf(r.blockedCallees),
    }));
  }

  check(toolId: string, callChain: readonly string[], circular: boolean): Denial[] {
    const denials: Denial[] = [];
    if (callChain.length > this.maxDepth)
      denials.push({
        id: 'call-chain:max-depth',
        reason: `call depth ${callChain.length} exceeds the maximum of ${this.maxDepth} (chain: ${[...callChain, toolId].join(' -> ')})`,
      });
    if (this.denyCircular && circular)
      denials.push({ id: 'call-chain:circular', reason: `circular call chain: ${[...callChain, toolId].join(' -> ')}` });
    if (callChain.length === 0 || this.rules.length === 0) return denials;
    const caller = callChain[callChain.length - 1]!;
    for (const rule of this.rules) {
      if (rule.tool(toolId)) {
        const blocked = rule.blockedCallers && callChain.find((c) => rule.blockedCallers!(c));
        if (blocked)
          denials.push({ id: 'call-chain:blocked-caller', reason: `${toolId} may not be called by ${blocked} (call-chain rule ${rule.index})` });
        if (rule.allowedCallers && !rule.allowedCallers(caller))
          denials.push({ id: 'call-chain:caller-not-allowed', reason: `${caller} is not an allowed caller of ${toolId} (call-chain rule ${rule.index})` });
      }
      if (rule.blockedCallees) {
        const upstream = callChain.find((c) => rule.tool(c));
        if (upstream && rule.blockedCallees(toolId))
          denials.push({ id: 'call-chain:blocked-callee', reason: `${upstream} may not call ${toolId}, directly or not (call-chain rule ${rule.index})` });
      }
      if (rule.allowedCallees && rule.tool(caller) && !rule.allowedCallees(toolId))
        denials.push({ id: 'call-chain:callee-not-allowed', reason: `${caller} may not call ${toolId} (call-chain rule ${rule.index})` });
    }
    return denials;
  }
}

interface CompiledLimit {
  id: string;
  tool: (id: string) => boolean;
  maxCalls: number;
  windowMs: number;
}

/**
 * Per-tool, per-session sliding-window rate limits. Only allowed calls are counted (commit), so a
 * denied call does not use up the budget. Memory is bounded: past `maxKeys` windows the least
 * recently used is forgotten.
 */
export class RateLimiter {
  private readonly limits: CompiledLimit[];
  private readonly windows = new Map<string, number[]>();

  constructor(
    rules: readonly RateLimitRule[] | undefined,
    private readonly maxKeys: number,
  ) {
    this.limits = (rules ?? []).map((r, i) => ({
      id: `rate-limit:${r.id ?? String(i)}`,
      tool: compileToolPattern(r.tool),
      maxCalls: r.maxCalls,
      windowMs: r.windowSeconds * 1000,
    }));
  }

  get size(): number {
    return this.windows.size;
  }

  /** The denials for a call now, and a function that counts it (call it only if the call is allowed). */
  check(sessionId: string, toolId: string, nowMs: number): { denials: Denial[]; commit: () => void } {
    const denials: Denial[] = [];
    const keys: string[] = [];
    for (const limit of this.limits) {
      if (!limit.tool(toolId)) continue;
      const key = `${limit.id}\u0000${sessionId}\u0000${toolId}`;
      keys.push(key);
      const window = this.windows.get(key);
      if (window === undefined) continue;
      const since = nowMs - limit.windowMs;
      while (window.length > 0 && window[0]! <= since) window.shift();
      if (window.length >= limit.maxCalls)
        denials.push({
          id: limit.id,
          reason: `rate limit exceeded: ${window.length} calls to ${toolId} in session ${sessionId} within ${limit.windowMs / 1000} s (maximum ${limit.maxCalls})`,
        });
    }
    const commit = (): void => {
      for (const key of keys) {
        const window = this.windows.get(key) ?? [];
        this.windows.delete(key); // re-insert: Map order is the LRU order
        window.push(nowMs);
        this.windows.set(key, window);
      }
      while (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    };
    return { denials, commit };
  }
}
