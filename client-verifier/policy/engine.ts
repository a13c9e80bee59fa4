import { HostPolicyConfigSchema, type HostPolicyConfig, type ToolPolicy } from '@etdi/schemas';
import { VerificationError } from '../errors.js';
import { loadCedar, type CedarModule, type CedarSchema } from './cedar.js';
import { CallChainChecker, RateLimiter, isCircular, type Denial } from './constraints.js';
import { splitPolicySet, type PolicyDiagnostic, type PolicyEffect } from './policy-set.js';
import { emptyReadSet, fullReadSet, mergeReadSets, type ReadSet } from './reads.js';
import { Calendar, UnrepresentableError, toCedarRequest, type ConversionLimits } from './request.js';
import type { InvocationRequest, PolicyDecision, PolicyEngineOptions } from './types.js';
import { checkPolicySet } from './validate.js';

/** A policy set handed to Cedar once (preparsePolicySet) and evaluated by id afterwards. */
interface Prepared {
  /** Id of the set in Cedar's pre-parsed cache. */
  psetId: string;
  /** Effect of every policy in the set, by its prefixed id (`tool:x`, `host:y`). */
  effects: Map<string, PolicyEffect>;
  hasTool: boolean;
  hasHost: boolean;
  /** What the set's policies can read: the request Cedar gets holds only that. */
  reads: ReadSet;
}

/** A tool policy text that does not parse: every call to the tool is denied with these diagnostics. */
interface Broken {
  diagnostics: PolicyDiagnostic[];
}

let engineSerial = 0;

interface HostSet {
  policies: Map<string, string>;
  effects: Map<string, PolicyEffect>;
  reads: ReadSet;
}

/**
 * Decides, before each tool call, whether the call may go ahead (docs/POLICIES.md). In order:
 * the approved-permission subset from the pin, the host's call-chain constraints, the tool's and
 * the host's Cedar policies (one Cedar evaluation over both sets, pre-parsed once per tool policy
 * text), then the per-session rate limits. Every check runs, so a denial lists every reason.
 */
export class PolicyEngine {
  private readonly toolSets = new Map<string, Prepared | Broken>();
  private readonly freeSlots: string[] = [];
  private slotCount = 0;

  private constructor(
    private readonly cedar: CedarModule,
    private readonly serial: number,
    private readonly host: HostSet | undefined,
    private readonly hostPrepared: Prepared | undefined,
    private readonly chain: CallChainChecker,
    private readonly rates: RateLimiter,
    private readonly calendar: Calendar,
    private readonly clock: () => Date,
    private readonly limits: ConversionLimits,
    private readonly maxCachedToolPolicies: number,
    private readonly projectRequests: boolean,
  ) {}

  /**
   * Loads Cedar, checks the host policies (parse, unique ids, and validation when the config has a
   * schema) and pre-parses them. Throws VerificationError SCHEMA_INVALID, with Cedar's
   * diagnostics as evidence, for a configuration that would not be enforced as written.
   */
  static async create(options: PolicyEngineOptions = {}): Promise<PolicyEngine> {
    const { cedar: given, clock, maxCachedToolPolicies, maxRateLimitKeys, maxArgumentDepth, maxArgumentValues, projectRequests, ...config } = options;
    const parsed = HostPolicyConfigSchema.safeParse(config);
    if (!parsed.success)
      throw new VerificationError('SCHEMA_INVALID', `host policy configuration is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    const hostConfig: HostPolicyConfig = parsed.data;
    const cedar = given ?? (await loadCedar());
    let calendar: Calendar;
    try {
      calendar = new Calendar(hostConfig.timeZone ?? 'UTC');
    } catch (cause) {
      throw new VerificationError('SCHEMA_INVALID', `host policy configuration: unknown time zone "${hostConfig.timeZone}"`, { got: hostConfig.timeZone }, { cause });
    }
    const serial = ++engineSerial;
    const host = PolicyEngine.loadHostPolicies(cedar, hostConfig, projectRequests ?? true);
    let hostPrepared: Prepared | undefined;
    if (host !== undefined) {
      const prepared = PolicyEngine.preparse(cedar, `etdi-${serial}-host`, host, false, true);
      if ('diagnostics' in prepared)
        throw new VerificationError('SCHEMA_INVALID', 'host policies could not be pre-parsed by Cedar', { diagnostics: prepared.diagnostics });
      hostPrepared = prepared;
    }
    return new PolicyEngine(
      cedar,
      serial,
      host,
      hostPrepared,
      new CallChainChecker(hostConfig.callChain),
      new RateLimiter(hostConfig.rateLimits, maxRateLimitKeys ?? 100_000),
      calendar,
      clock ?? (() => new Date()),
      { maxDepth: maxArgumentDepth ?? 32, maxValues: maxArgumentValues ?? 100_000 },
      maxCachedToolPolicies ?? 256,
      projectRequests ?? true,
    );
  }

  private static loadHostPolicies(cedar: CedarModule, config: HostPolicyConfig, project: boolean): HostSet | undefined {
    if (config.policies === undefined || config.policies.length === 0) return undefined;
    const policies = new Map<string, string>();
    const effects = new Map<string, PolicyEffect>();
    const reads = project ? emptyReadSet() : fullReadSet();
    config.policies.forEach((source, index) => {
      const name = source.id ?? `policies[${index}]`;
      const checked = checkPolicySet(cedar, source.text, config.schema as CedarSchema | undefined);
      if (!checked.ok)
        throw new VerificationError('SCHEMA_INVALID', `host policy source ${name} is invalid: ${checked.diagnostics.map((d) => d.message).join('; ')}`, {
          source: name,
          diagnostics: checked.diagnostics,
        });
      for (const p of checked.policies) {
        // an @id names a policy on its own; Cedar's default ids (policy0...) repeat across sources
        const annotated = !/^policy\d+$/.test(p.id);
        const key = `host:${annotated || source.id === undefined ? p.id : `${source.id}#${p.id}`}`;
        if (policies.has(key))
          throw new VerificationError('SCHEMA_INVALID', `host policy id ${key} is used twice; policy ids must be unique`, { source: name, policyId: key });
        policies.set(key, p.text);
        effects.set(key, p.effect);
        mergeReadSets(reads, p.reads);
      }
    });
    return { policies, effects, reads };
  }

  private static preparse(cedar: CedarModule, psetId: string, set: HostSet, hasTool: boolean, hasHost: boolean): Prepared | Broken {
    try {
      const answer = cedar.preparsePolicySet(psetId, { staticPolicies: Object.fromEntries(set.policies) });
      if (answer.type === 'failure') return { diagnostics: answer.errors.map((e) => ({ message: e.message })) };
    } catch (cause) {
      return { diagnostics: [{ message: `Cedar could not pre-parse the policy set: ${String(cause)}` }] };
    }
    return { psetId, effects: set.effects, reads: set.reads, hasTool, hasHost };
  }

  /** The pre-parsed set for this tool policy combined with the host's (cached by policy text, LRU). */
  private preparedFor(policy: ToolPolicy | undefined): Prepared | Broken | undefined {
    if (policy === undefined) return this.hostPrepared;
    const text = policy.policies;
    const cached = this.toolSets.get(text);
    if (cached !== undefined) {
      this.toolSets.delete(text); // keep Map order = least recently used first
      this.toolSets.set(text, cached);
      return cached;
    }
    if (this.toolSets.size >= this.maxCachedToolPolicies) {
      // evict the least recently used set and reuse its Cedar cache slot (re-preparsing an id
      // replaces it, so Cedar's cache stays bounded too)
      const [oldText, old] = this.toolSets.entries().next().value!;
      this.toolSets.delete(oldText);
      if ('psetId' in old) this.freeSlots.push(old.psetId);
    }
    let entry: Prepared | Broken;
    const split = typeof text === 'string' ? splitPolicySet(this.cedar, text) : { ok: false as const, diagnostics: [{ message: 'policy text is not a string' }] };
    if (!split.ok) entry = { diagnostics: split.diagnostics };
    else {
      const policies = new Map(this.host?.policies);
      const effects = new Map(this.host?.effects);
      const reads = this.projectRequests ? mergeReadSets(emptyReadSet(), this.host?.reads ?? emptyReadSet()) : fullReadSet();
      for (const p of split.policies) {
        policies.set(`tool:${p.id}`, p.text);
        effects.set(`tool:${p.id}`, p.effect);
        if (this.projectRequests) mergeReadSets(reads, p.reads);
      }
      const psetId = this.freeSlots.pop() ?? `etdi-${this.serial}-tool-${this.slotCount++}`;
      entry = PolicyEngine.preparse(this.cedar, psetId, { policies, effects, reads }, true, this.host !== undefined);
    }
    this.toolSets.set(text, entry);
    return entry;
  }

  /**
   * The decision for one call. Synchronous: it runs before every tool call. A call is allowed only
   * if every check passes; an allowed call counts towards its rate limits. Throws TypeError only
   * for a request that is not shaped as documented (a host bug); anything about the call's content
   * that cannot be evaluated is a denial, never an exception or an allow.
   */
  authorize(request: InvocationRequest): PolicyDecision {
    if (typeof request !== 'object' || request === null) throw new TypeError('request must be an InvocationRequest');
    const { tool, callChain } = request;
    if (typeof tool !== 'object' || tool === null) throw new TypeError('request.tool must be an object');
    if (typeof request.session?.id !== 'string') throw new TypeError('request.session.id must be a string');
    if (!Array.isArray(callChain)) throw new TypeError('request.callChain must be an array of tool ids');
    if (!Array.isArray(tool.permissions) || !Array.isArray(tool.approvedPermissions))
      throw new TypeError('request.tool.permissions and request.tool.approvedPermissions must be arrays');
    if (!callChain.every((id) => typeof id === 'string')) throw new TypeError('request.callChain must hold tool id strings');
    const now = request.now ?? this.clock();
    if (!(now instanceof Date) || !Number.isFinite(now.getTime())) throw new TypeError('request.now (or the clock) must be a valid Date');
    const denials: Denial[] = [];
    let permittedBy: string[] = [];

    // the pin's approved subset: the user approved these permissions and no others (ETDI, OAuth scopes)
    const required = request.requiredPermissions ?? tool.permissions;
    for (const permission of required) {
      if (!tool.permissions.includes(permission))
        denials.push({ id: 'pin:undeclared-permission', reason: `the call needs permission "${permission}", which ${tool.toolId}@${tool.version} does not declare` });
      else if (!tool.approvedPermissions.includes(permission))
        denials.push({ id: 'pin:unapproved-permission', reason: `the call needs permission "${permission}", which the user did not approve for ${tool.toolId}` });
    }

    const circular = isCircular(tool.toolId, callChain);
    denials.push(...this.chain.check(tool.toolId, callChain, circular));

    const prepared = this.preparedFor(tool.policy);
    if (prepared !== undefined) {
      if ('diagnostics' in prepared)
        denials.push({ id: 'tool:(invalid)', reason: `the policy of ${tool.toolId}@${tool.version} does not parse: ${prepared.diagnostics.map((d) => d.message).join('; ')}` });
      else {
        const outcome = this.evaluate(prepared, request, { depth: callChain.length, circular, required, now });
        denials.push(...outcome.denials);
        permittedBy = outcome.permittedBy;
      }
    }

    const rate = this.rates.check(request.session.id, tool.toolId, now.getTime());
    denials.push(...rate.denials);

    if (denials.length > 0) return { allowed: false, reasons: denials.map((d) => d.reason), policyIds: [...new Set(denials.map((d) => d.id))] };
    rate.commit();
    return {
      allowed: true,
      reasons: [prepared === undefined ? 'no policy set applies; permissions, call chain and rate limits allow the call' : `permitted by ${permittedBy.join(', ')}`],
      policyIds: permittedBy,
    };
  }

  private evaluate(
    prepared: Prepared,
    request: InvocationRequest,
    derived: { depth: number; circular: boolean; required: readonly string[]; now: Date },
  ): { denials: Denial[]; permittedBy: string[] } {
    let cedarRequest: ReturnType<typeof toCedarRequest>;
    try {
      cedarRequest = toCedarRequest(
        request,
        { depth: derived.depth, circular: derived.circular, requiredPermissions: derived.required, now: this.calendar.at(derived.now) },
        this.limits,
        prepared.reads,
      );
    } catch (cause) {
      const why = cause instanceof UnrepresentableError || cause instanceof RangeError ? cause.message : String(cause);
      return { denials: [{ id: 'cedar:(request)', reason: `the call cannot be evaluated by policy: ${why}` }], permittedBy: [] };
    }
    let answer: ReturnType<CedarModule['statefulIsAuthorized']>;
    try {
      answer = this.cedar.statefulIsAuthorized({ ...cedarRequest, preparsedPolicySetId: prepared.psetId });
    } catch (cause) {
      return { denials: [{ id: 'cedar:(error)', reason: `Cedar failed: ${String(cause)}` }], permittedBy: [] };
    }
    if (answer.type === 'failure')
      return { denials: [{ id: 'cedar:(error)', reason: `Cedar could not evaluate the call: ${answer.errors.map((e) => e.message).join('; ')}` }], permittedBy: [] };

    const { decision, diagnostics } = answer.response;
    const denials: Denial[] = [];
    // deny wins even when a forbid cannot be evaluated: Cedar skips an erroring policy, which for
    // a forbid would turn "could not check" into "allowed" (fail closed instead)
    for (const e of diagnostics.errors)
      if (prepared.effects.get(e.policyId) === 'forbid')
        denials.push({ id: e.policyId, reason: `forbid policy ${e.policyId} could not be evaluated (${e.error.message}), so it counts as denying` });
    if (decision === 'deny') {
      for (const id of diagnostics.reason) denials.push({ id, reason: `forbidden by ${id}` });
      if (diagnostics.reason.length === 0) denials.push(...this.noPermit(prepared, []));
      return { denials, permittedBy: [] };
    }
    // Cedar allowed: its reason lists every permit satisfied in the combined set; each set that
    // exists (the tool's, the host's) must itself permit
    denials.push(...this.noPermit(prepared, diagnostics.reason));
    return { denials, permittedBy: denials.length > 0 ? [] : diagnostics.reason };
  }

  private noPermit(prepared: Prepared, permits: readonly string[]): Denial[] {
    const denials: Denial[] = [];
    if (prepared.hasTool && !permits.some((id) => id.startsWith('tool:')))
      denials.push({ id: 'tool:(no-permit)', reason: 'no policy of the tool permits this call (default deny)' });
    if (prepared.hasHost && !permits.some((id) => id.startsWith('host:')))
      denials.push({ id: 'host:(no-permit)', reason: 'no host policy permits this call (default deny)' });
    return denials;
  }
}
