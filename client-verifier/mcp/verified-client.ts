import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ErrorCode, McpError, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AUDIT_EVENT_TYPE, DECLARATIONS_MANIFEST_METHOD, type AuditEvent, type LockfilePin, type PolicyOutcome } from '@etdi/schemas';
import { ProtocolError, definitionDigest, parseStrictJson, toSignedDefinition } from '@etdi/protocol';
import { describeChanges } from '../changes.js';
import { VerificationError, type VerificationErrorCode, type VerificationEvidence } from '../errors.js';
import type { InvocationRequest, PolicyDecision } from '../policy/index.js';
import type { ToolVerifier } from '../verifier.js';
import type { VerifiedTool } from '../evidence.js';
import type { DeclaredTool } from '../sep3140/declared-tool.js';
import { toolTrust } from '../sep3140/tool-trust.js';
import type { TrustedDeclarations } from '../sep3140/verify-manifest.js';

/** A tool that passed every check: verified against the registry, or a SEP-3140 signed declaration. */
export type CheckedTool = VerifiedTool | DeclaredTool;

/** The `declarations/manifest` result as sent (decoded and verified by the verifier). */
const RawResultSchema = z.looseObject({});

/**
 * The tools/list result kept exactly as the server sent it: the SDK's own `listTools()`
 * re-parses tools with its schemas, dropping fields it does not know (real servers' extra
 * annotation keys), and a signature over the full definition cannot be checked on that copy.
 */
const RawToolListSchema = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });

/** What the policy layer receives: the policy engine's own request type. */
export type ToolCallPolicyRequest = InvocationRequest;

/** Any policy engine with `authorize` (client-verifier/policy's PolicyEngine fits). */
export interface ToolCallPolicy {
  authorize(request: ToolCallPolicyRequest): PolicyDecision | Promise<PolicyDecision>;
}

/** A tool the wrapper did not hand to the host, and why. */
export interface WithheldTool {
  name: string;
  serverId: string;
  code: VerificationErrorCode;
  message: string;
  evidence: VerificationEvidence;
  /** For NEEDS_APPROVAL / NEW_VERSION / PERMISSION_ESCALATION: the verified tool to show the user. */
  verified?: CheckedTool;
}

export interface VerifiedToolList {
  /** Verified and approved tools, each exactly the signed definition the server sent. */
  tools: Record<string, unknown>[];
  withheld: WithheldTool[];
}

export interface VerifiedClientOptions {
  verifier: ToolVerifier;
  /** A name for this server in reports and shadowing decisions. Default `server`. */
  serverId?: string;
  /** The namespace this server's tools must come from (NAMESPACE_MISMATCH otherwise). */
  provider?: string;
  /**
   * The canonical URI of this server (RFC 8707; for Streamable HTTP, its URL): what a SEP-3140
   * capability manifest must be bound to, and where its Protected Resource Metadata is. With a
   * verifier configured for declarations, the server's `declarations/manifest` is asked for; a
   * server that does not have the method is verified as any other (docs/VERIFIER.md).
   */
  serverUri?: string;
  policy?: ToolCallPolicy;
  /** Default principal and session for policy requests. */
  principal?: { id: string; type?: string };
  session?: { id: string };
  /** Most tools/list pages followed (a server cannot keep the host paging forever). Default 50. */
  maxPages?: number;
  /** Called after every re-verification triggered by `notifications/tools/list_changed`. */
  onToolsChanged?: (list: VerifiedToolList) => void;
  /**
   * How old (ms) the verified listing may be when a tool is called; an older one is listed and
   * verified again first. This catches a definition changed without `list_changed` (a server
   * need not announce it, and under the 2026-07-28 revision only subscribers hear it). 0 lists
   * before every call. Default 5,000; at most 3,600,000 (never unbounded).
   */
  listingMaxAgeMs?: number;
  /**
   * The decision trail: one event per decision (etdi.audit/v1, schemas/audit.ts). A tool event
   * is written when a tool is first seen, when its live definition or its decision changes, and
   * when it disappears; never again for an unchanged tool on a later listing. Every call and
   * every approval is one event. Exceptions thrown by the sink are ignored (it must not decide).
   */
  onDecision?: (event: AuditEvent) => void;
}

/** Default and upper bound of `listingMaxAgeMs`. */
export const DEFAULT_LISTING_MAX_AGE_MS = 5_000;
export const MAX_LISTING_MAX_AGE_MS = 3_600_000;

/** Per-call context handed to the policy engine (see client-verifier/policy, InvocationRequest). */
export type VerifiedCallOptions = Partial<
  Pick<InvocationRequest, 'principal' | 'session' | 'callChain' | 'requiredPermissions' | 'dataLabels' | 'callerPermissions' | 'now'>
>;

interface Entry {
  raw: Record<string, unknown>;
  result: CheckedTool | VerificationError;
}

/** What the decision trail last said about a tool: a later listing that says the same writes nothing. */
interface Reported {
  decision: string;
  digest: string | undefined;
}

/** The digest of a live definition as signed, or undefined for what is not a definition at all. */
function liveDigest(entry: Entry): string | undefined {
  if (!(entry.result instanceof VerificationError)) return entry.result.definitionDigest;
  try {
    return entry.raw !== null && typeof entry.raw === 'object' && !Array.isArray(entry.raw) ? definitionDigest(entry.raw) : undefined;
  } catch {
    return undefined;
  }
}

const policyOutcome = (d: { policyIds: readonly string[]; reasons: readonly string[] }): PolicyOutcome => ({ policyIds: [...d.policyIds], reasons: [...d.reasons] });

/**
 * The tools as JSON text would carry them. Over stdio and HTTP this changes nothing; an
 * in-process transport hands objects over without serialising, so members set to `undefined`
 * (absent in JSON) are dropped here, and the strict I-JSON parser refuses what JCS cannot
 * canonicalise (lone surrogates, unsafe integers) for the whole list.
 */
function toJsonValues(tools: unknown[], serverId: string): unknown[] {
  try {
    return parseStrictJson(JSON.stringify(tools), { maxBytes: 16 * 1024 * 1024 }) as unknown[];
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `server ${serverId} sent a tools/list that is not I-JSON: ${(cause as Error).message}`, { serverId }, { cause });
  }
}

/**
 * Any failure of one tool's verification as a VerificationError, so the tool is withheld (fail
 * closed): a protocol refusal of hostile input is SCHEMA_INVALID; anything else is INTERNAL (a
 * bug or the environment), never reported as a verification code a host would act on.
 */
const asError = (error: unknown, name: string): VerificationError => {
  if (error instanceof VerificationError) return error;
  const message = (error as Error)?.message ?? String(error);
  return error instanceof ProtocolError
    ? new VerificationError('SCHEMA_INVALID', `"${name}" is not a valid tool: ${message}`, { toolName: name, protocolCode: error.code }, { cause: error })
    : new VerificationError('INTERNAL', `verifying "${name}" failed unexpectedly: ${message}`, { toolName: name }, { cause: error });
};

function withheldOf(entry: Entry, name: string, serverId: string): WithheldTool | undefined {
  if (entry.result instanceof VerificationError)
    return { name, serverId, code: entry.result.code, message: entry.result.message, evidence: entry.result.evidence };
  const d = entry.result.decision;
  if (d.status === 'approved') return undefined;
  return {
    name,
    serverId,
    code: d.code,
    message: d.message,
    evidence: { toolId: entry.result.toolId, version: entry.result.version, ...(d.grew ? { grew: d.grew } : {}), ...(d.changes ? { changes: d.changes } : {}) },
    verified: entry.result,
  };
}

/**
 * A verifying wrapper around the MCP SDK `Client` of one server: `listTools` returns only
 * verified, approved tools (and every withheld one with its reason); `callTool` re-checks the
 * tool (live digest against the pin, cached) and the policy first and refuses otherwise;
 * `notifications/tools/list_changed` triggers re-verification.
 */
export class VerifiedClient {
  readonly client: Client;
  readonly serverId: string;
  private readonly options: VerifiedClientOptions;
  private readonly maxAgeMs: number;
  private entries = new Map<string, Entry>();
  private refreshing: Promise<VerifiedToolList> | undefined;
  private stale = true;
  /** performance.now() when the current listing was requested (-Infinity: never listed). */
  private listedAt = -Infinity;
  private readonly reported = new Map<string, Reported>();
  private subscribed = false;
  /**
   * The server's verified capability manifest (SEP-3140), the error that refuses it, or
   * undefined for a server verified against the registry.
   */
  private declarations: TrustedDeclarations | VerificationError | undefined;

  constructor(client: Client, options: VerifiedClientOptions) {
    const maxAge = options.listingMaxAgeMs ?? DEFAULT_LISTING_MAX_AGE_MS;
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0 || maxAge > MAX_LISTING_MAX_AGE_MS)
      throw new RangeError(`VerifiedClient: listingMaxAgeMs must be a number of milliseconds from 0 to ${MAX_LISTING_MAX_AGE_MS}, got ${String(maxAge)}`);
    this.client = client;
    this.options = options;
    this.maxAgeMs = maxAge;
    this.serverId = options.serverId ?? 'server';
    // Re-verify when the server says its tools changed; calls wait for it (see callTool).
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.stale = true;
      void this.refresh().then(
        (list) => this.options.onToolsChanged?.(list),
        () => undefined,
      );
    });
  }

  /** Fetches tools/list (every page) as sent, verifies each tool, and keeps the result for calls. */
  async listTools(): Promise<VerifiedToolList> {
    return this.refresh();
  }

  private refresh(): Promise<VerifiedToolList> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Whether a call must wait for a new listing: announced change, one in flight, or too old. */
  private mustRelist(): boolean {
    return this.stale || this.refreshing !== undefined || performance.now() - this.listedAt > this.maxAgeMs;
  }

  /**
   * Under the 2026-07-28 revision `notifications/tools/list_changed` reaches only a client that
   * asked for it on a `subscriptions/listen` stream; SDKs that speak that revision expose it as
   * `client.listen`. Earlier revisions send it unasked to a client of a server that declares
   * `tools.listChanged` (the handler in the constructor). Either way the listing's maximum age
   * is what bounds an unannounced change: a server is never trusted to announce one.
   */
  private subscribeToToolChanges(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    const listen = (this.client as unknown as { listen?: (filter: { toolsListChanged: boolean }) => Promise<unknown> }).listen;
    if (typeof listen !== 'function' || this.client.getServerCapabilities()?.tools?.listChanged !== true) return;
    listen.call(this.client, { toolsListChanged: true }).catch(() => undefined);
  }

  private async doRefresh(): Promise<VerifiedToolList> {
    this.stale = false;
    this.subscribeToToolChanges();
    // The age counts from the request: what the server changes after it is caught by the next one.
    const requestedAt = performance.now();
    const raw: unknown[] = [];
    let cursor: string | undefined;
    const maxPages = this.options.maxPages ?? 50;
    for (let page = 0; page < maxPages; page++) {
      const result = await this.client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, RawToolListSchema);
      raw.push(...toJsonValues(result.tools, this.serverId));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    this.declarations = await this.fetchDeclarations();
    // One request and one registry signature for the whole list, when a registry is configured.
    if (this.declarations === undefined) await this.options.verifier.prefetch(raw, this.checkOptions()).catch(() => undefined);
    const entries = new Map<string, Entry>();
    const duplicates = new Set<string>();
    await Promise.all(
      raw.map(async (tool) => {
        const name = tool !== null && typeof tool === 'object' && typeof (tool as { name?: unknown }).name === 'string' ? (tool as { name: string }).name : '';
        let result: CheckedTool | VerificationError;
        try {
          result = await this.checkTool(tool);
        } catch (error) {
          result = asError(error, name);
        }
        if (entries.has(name)) duplicates.add(name);
        entries.set(name, { raw: tool as Record<string, unknown>, result });
      }),
    );
    // One server listing one name twice: neither copy is callable (which one would run?).
    for (const name of duplicates) {
      const entry = entries.get(name)!;
      entry.result = new VerificationError('SHADOWED', `server ${this.serverId} lists "${name}" more than once; neither is callable`, { toolName: name, serverId: this.serverId });
    }
    this.entries = entries;
    this.listedAt = requestedAt;
    this.reportAutoApprovals();
    this.reportListing();
    return this.snapshot();
  }

  /**
   * SEP-3140: when the verifier is configured for declarations and this server has a URI, its
   * `declarations/manifest` is fetched and verified (steps 1, 2, 4). The MCP SDK's client drops
   * capabilities it does not know from the initialize result, so `declarations.signed` cannot be
   * read there: the method itself is asked for, and only "method not found" means the server
   * does not sign (it is then verified like any other server; pinned tools are refused).
   */
  private async fetchDeclarations(): Promise<TrustedDeclarations | VerificationError | undefined> {
    const serverUri = this.options.serverUri;
    if (serverUri === undefined || !this.options.verifier.verifiesDeclarations) return undefined;
    let result: unknown;
    try {
      result = await this.client.request({ method: DECLARATIONS_MANIFEST_METHOD, params: {} }, RawResultSchema);
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.MethodNotFound) return undefined;
      return new VerificationError('UNSIGNED', `server ${this.serverId} did not answer ${DECLARATIONS_MANIFEST_METHOD}: ${(error as Error).message}`, { serverId: this.serverId }, { cause: error });
    }
    try {
      const [value] = toJsonValues([result], this.serverId);
      return await this.options.verifier.verifyDeclarations(value, { serverUri, ...this.checkOptions() });
    } catch (error) {
      return asError(error, DECLARATIONS_MANIFEST_METHOD);
    }
  }

  /** One listed tool through the path its server speaks: its signed declaration, or the registry. */
  private checkTool(tool: unknown): Promise<CheckedTool> {
    const declarations = this.declarations;
    if (declarations instanceof VerificationError) return Promise.reject(declarations);
    if (declarations !== undefined) return this.options.verifier.checkDeclared(tool, declarations);
    return this.options.verifier.check(tool, this.checkOptions());
  }

  /** A tool the host's risk-graduated approval pinned is a `tool.approved` event, by that rule. */
  private reportAutoApprovals(): void {
    for (const [name, entry] of this.entries) {
      const result = entry.result;
      if (result instanceof VerificationError || result.decision.status !== 'approved' || result.decision.auto === undefined) continue;
      this.emit({
        ...this.baseEvent(name),
        event: 'tool.approved',
        toolId: result.toolId,
        version: result.version,
        by: `etdi:${result.decision.auto}`,
        code: 'NEEDS_APPROVAL',
        permissions: [...result.decision.pin.approvedPermissions],
        changes: [],
        definitionDigest: result.definitionDigest,
      });
    }
  }

  private emit(event: AuditEvent): void {
    try {
      this.options.onDecision?.(event);
    } catch {
      // the trail's sink must never decide a call or break a listing
    }
  }

  private baseEvent(name: string, evidence: { toolId?: unknown; version?: unknown } = {}): { type: typeof AUDIT_EVENT_TYPE; time: string; serverId: string; tool: string; toolId?: string; version?: string } {
    return {
      type: AUDIT_EVENT_TYPE,
      time: new Date().toISOString(),
      serverId: this.serverId,
      tool: name,
      ...(typeof evidence.toolId === 'string' ? { toolId: evidence.toolId } : {}),
      ...(typeof evidence.version === 'string' ? { version: evidence.version } : {}),
    };
  }

  /**
   * The tool events of the decision trail: only what differs from what was last reported (a new
   * tool, a changed definition, a changed decision, a tool gone), so that a server announcing
   * changes in a loop, or a host listing every second, does not repeat a line per tool.
   */
  private reportListing(): void {
    if (this.options.onDecision === undefined) return;
    for (const [name, entry] of this.entries) {
      const withheld = withheldOf(entry, name, this.serverId);
      const decision = withheld === undefined ? 'listed' : `withheld:${withheld.code}`;
      const digest = liveDigest(entry);
      const before = this.reported.get(name);
      if (before !== undefined && before.decision === decision && before.digest === digest) continue;
      this.reported.set(name, { decision, digest });
      const change = before === undefined ? 'first' : before.digest !== digest ? 'definition' : 'decision';
      const fields = {
        change,
        ...(digest !== undefined ? { definitionDigest: digest } : {}),
        ...(change === 'definition' && before?.digest !== undefined ? { previousDigest: before.digest } : {}),
      } as const;
      if (withheld === undefined) {
        const tool = entry.result as VerifiedTool;
        this.emit({ ...this.baseEvent(name, tool), event: 'tool.listed', ...fields });
      } else this.emit({ ...this.baseEvent(name, withheld.evidence), event: 'tool.withheld', ...fields, code: withheld.code, message: withheld.message });
    }
    for (const [name, before] of this.reported) {
      if (this.entries.has(name)) continue;
      this.reported.delete(name);
      this.emit({ ...this.baseEvent(name), event: 'tool.removed', ...(before.digest !== undefined ? { previousDigest: before.digest } : {}) });
    }
  }

  private checkOptions(): { provider?: string } {
    return this.options.provider ? { provider: this.options.provider } : {};
  }

  /** The last verified list without contacting the server. */
  snapshot(): VerifiedToolList {
    const tools: Record<string, unknown>[] = [];
    const withheld: WithheldTool[] = [];
    for (const [name, entry] of this.entries) {
      const w = withheldOf(entry, name, this.serverId);
      if (w !== undefined) withheld.push(w);
      // Hand the host exactly the signed definition (what was verified), never the SDK's copy.
      else tools.push(toSignedDefinition((entry.result as CheckedTool).definition));
    }
    return { tools, withheld };
  }

  /** The current verified tool of a name, or the error that withholds it. */
  async inspect(name: string): Promise<CheckedTool> {
    if (this.mustRelist()) await this.refresh();
    const entry = this.entries.get(name);
    if (entry === undefined)
      throw new VerificationError('UNKNOWN_TOOL', `server ${this.serverId} does not list a tool "${name}"`, { toolName: name, serverId: this.serverId });
    if (entry.result instanceof VerificationError) throw entry.result;
    return entry.result;
  }

  /** Records the user's approval of a tool that needs it (NEEDS_APPROVAL, NEW_VERSION, PERMISSION_ESCALATION). */
  async approve(name: string, options: { permissions?: readonly string[]; by?: string } = {}): Promise<LockfilePin> {
    const tool = await this.inspect(name);
    const { by, ...approveOptions } = options;
    const pin = await this.options.verifier.approve(tool, approveOptions);
    const d = tool.decision;
    const changes = d.status === 'needs-approval' ? d.changes : d.upgrade?.changes;
    this.emit({
      ...this.baseEvent(name),
      event: 'tool.approved',
      toolId: pin.toolId,
      version: pin.version,
      by: by ?? this.options.principal?.id ?? 'unknown',
      code: d.status === 'needs-approval' ? d.code : 'NEEDS_APPROVAL',
      permissions: [...pin.approvedPermissions],
      ...(d.status === 'needs-approval' && d.pin !== undefined ? { previousVersion: d.pin.version } : {}),
      changes: changes ? describeChanges(changes).map((l) => l.trim()) : [],
      definitionDigest: tool.definitionDigest,
    });
    const entry = this.entries.get(name);
    if (entry !== undefined) {
      try {
        entry.result = await this.checkTool(entry.raw);
      } catch (error) {
        entry.result = asError(error, name);
      }
      this.reportListing();
    }
    return pin;
  }

  /**
   * Re-checks a tool before calling it: pending re-verification first, then the live
   * definition's digest against the cached evidence and the pin, then the policy. Throws
   * VerificationError (RUG_PULL, DEFINITION_MISMATCH, NEEDS_APPROVAL, POLICY_DENIED, ...).
   */
  async authorize(name: string, args: Record<string, unknown>, options: VerifiedCallOptions = {}): Promise<CheckedTool> {
    let tool: CheckedTool;
    let policy: PolicyOutcome | undefined;
    try {
      ({ tool, policy } = await this.decide(name, args, options));
    } catch (error) {
      if (error instanceof VerificationError && this.options.onDecision !== undefined) {
        const e = error.evidence;
        const reasons = Array.isArray(e.reasons) ? (e.reasons as string[]) : undefined;
        this.emit({
          ...this.baseEvent(name, e),
          event: 'call.refused',
          code: error.code,
          message: error.message,
          ...(reasons ? { policy: policyOutcome({ policyIds: Array.isArray(e.policyIds) ? (e.policyIds as string[]) : [], reasons }) } : {}),
        });
      }
      throw error;
    }
    // Built only for a sink: a call is the hot path.
    if (this.options.onDecision !== undefined) this.emit({ ...this.baseEvent(name, tool), event: 'call.allowed', definitionDigest: tool.definitionDigest, ...(policy ? { policy } : {}) });
    return tool;
  }

  private async decide(name: string, args: Record<string, unknown>, options: VerifiedCallOptions): Promise<{ tool: CheckedTool; policy?: PolicyOutcome }> {
    if (this.mustRelist()) await this.refresh();
    const entry = this.entries.get(name);
    if (entry === undefined)
      throw new VerificationError('UNKNOWN_TOOL', `server ${this.serverId} does not list a tool "${name}"`, { toolName: name, serverId: this.serverId });
    if (entry.result instanceof VerificationError) throw entry.result;
    // The re-check: digest of the live definition against the cached verification and the pin.
    let tool: CheckedTool;
    try {
      tool = await this.checkTool(entry.raw);
    } catch (error) {
      entry.result = asError(error, name);
      throw entry.result;
    }
    entry.result = tool;
    const d = tool.decision;
    if (d.status !== 'approved') throw new VerificationError(d.code, d.message, { toolId: tool.toolId, version: tool.version, ...(d.grew ? { grew: d.grew } : {}) });
    if (this.options.policy !== undefined) {
      const annotations = tool.manifest.definition.annotations;
      const trust = toolTrust(tool);
      const decision = await this.options.policy.authorize({
        principal: options.principal ?? this.options.principal ?? { id: 'agent' },
        tool: {
          toolId: tool.toolId,
          version: tool.version,
          provider: tool.provider,
          permissions: [...tool.permissions],
          approvedPermissions: [...d.pin.approvedPermissions],
          ...(annotations ? { annotations } : {}),
          ...(tool.manifest.policy ? { policy: tool.manifest.policy } : {}),
          ...(trust !== undefined ? { trust: { ...trust.labels, publisher: trust.publisher, basis: trust.basis } } : {}),
        },
        arguments: args,
        session: options.session ?? this.options.session ?? { id: 'default' },
        callChain: options.callChain ?? [],
        ...(options.requiredPermissions ? { requiredPermissions: options.requiredPermissions } : {}),
        ...(options.dataLabels ? { dataLabels: options.dataLabels } : {}),
        ...(options.callerPermissions ? { callerPermissions: options.callerPermissions } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
      if (!decision.allowed)
        throw new VerificationError('POLICY_DENIED', `policy denies calling ${tool.toolId}: ${decision.reasons.join('; ') || 'no permit'}`, {
          toolId: tool.toolId,
          policyIds: decision.policyIds,
          reasons: decision.reasons,
        });
      return { tool, policy: policyOutcome(decision) };
    }
    return { tool };
  }

  /** Calls a tool after `authorize`; the server is contacted only when every check passed. */
  async callTool(name: string, args: Record<string, unknown> = {}, options: VerifiedCallOptions = {}): Promise<CallToolResult> {
    await this.authorize(name, args, options);
    return (await this.client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema)) as CallToolResult;
  }
}

/**
 * Several servers behind one host: a tool name exposed by two connected servers is SHADOWED on
 * both until the host picks one (`choose`), so the model can never reach the wrong one by name.
 */
export class VerifiedClientGroup {
  private readonly clients = new Map<string, VerifiedClient>();
  private readonly chosen = new Map<string, string>();

  add(client: VerifiedClient): void {
    if (this.clients.has(client.serverId)) throw new RangeError(`VerifiedClientGroup: serverId "${client.serverId}" is already added`);
    this.clients.set(client.serverId, client);
  }

  /** The host's pick for a shadowed name. */
  choose(name: string, serverId: string): void {
    if (!this.clients.has(serverId)) throw new RangeError(`VerifiedClientGroup.choose: unknown serverId "${serverId}"`);
    this.chosen.set(name, serverId);
  }

  private owners(lists: Map<string, VerifiedToolList>): Map<string, string[]> {
    const owners = new Map<string, string[]>();
    for (const [serverId, list] of lists) {
      const names = new Set([...list.tools.map((t) => t.name as string), ...list.withheld.map((w) => w.name)]);
      for (const name of names) owners.set(name, [...(owners.get(name) ?? []), serverId]);
    }
    return owners;
  }

  /** Lists and verifies every server's tools; shadowed names are withheld on every server not chosen. */
  async listTools(): Promise<VerifiedToolList> {
    const lists = new Map<string, VerifiedToolList>();
    await Promise.all([...this.clients].map(async ([id, c]) => lists.set(id, await c.listTools())));
    const owners = this.owners(lists);
    const tools: Record<string, unknown>[] = [];
    const withheld: WithheldTool[] = [];
    for (const [serverId, list] of lists) {
      withheld.push(...list.withheld);
      for (const tool of list.tools) {
        const name = tool.name as string;
        const servers = owners.get(name) ?? [];
        if (servers.length > 1 && this.chosen.get(name) !== serverId)
          withheld.push({
            name,
            serverId,
            code: 'SHADOWED',
            message: `"${name}" is exposed by ${servers.join(' and ')}; none is callable until you choose one`,
            evidence: { toolName: name, servers },
          });
        else tools.push(tool);
      }
    }
    return { tools, withheld };
  }

  /** Calls `name` on its only server, or on the chosen one when it is shadowed; SHADOWED otherwise. */
  async callTool(name: string, args: Record<string, unknown> = {}, options: VerifiedCallOptions = {}): Promise<CallToolResult> {
    const lists = new Map<string, VerifiedToolList>();
    for (const [id, c] of this.clients) lists.set(id, c.snapshot());
    const servers = this.owners(lists).get(name) ?? [];
    const pick = servers.length > 1 ? this.chosen.get(name) : servers[0];
    if (servers.length > 1 && (pick === undefined || !servers.includes(pick)))
      throw new VerificationError('SHADOWED', `"${name}" is exposed by ${servers.join(' and ')}; choose one before calling it`, { toolName: name, servers });
    const client = pick === undefined ? undefined : this.clients.get(pick);
    if (client === undefined) throw new VerificationError('UNKNOWN_TOOL', `no connected server lists "${name}"`, { toolName: name });
    return client.callTool(name, args, options);
  }
}
