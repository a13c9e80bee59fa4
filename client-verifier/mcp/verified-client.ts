import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { LockfilePin } from '@etdi/schemas';
import { ProtocolError, parseStrictJson, toSignedDefinition } from '@etdi/protocol';
import { VerificationError, type VerificationErrorCode, type VerificationEvidence } from '../errors.js';
import type { InvocationRequest, PolicyDecision } from '../policy/index.js';
import type { ToolVerifier } from '../verifier.js';
import type { VerifiedTool } from '../verify-tool.js';

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
  verified?: VerifiedTool;
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
  policy?: ToolCallPolicy;
  /** Default principal and session for policy requests. */
  principal?: { id: string; type?: string };
  session?: { id: string };
  /** Most tools/list pages followed (a server cannot keep the host paging forever). Default 50. */
  maxPages?: number;
  /** Called after every re-verification triggered by `notifications/tools/list_changed`. */
  onToolsChanged?: (list: VerifiedToolList) => void;
}

/** Per-call context handed to the policy engine (see client-verifier/policy, InvocationRequest). */
export type VerifiedCallOptions = Partial<
  Pick<InvocationRequest, 'principal' | 'session' | 'callChain' | 'requiredPermissions' | 'dataLabels' | 'callerPermissions' | 'now'>
>;

interface Entry {
  raw: Record<string, unknown>;
  result: VerifiedTool | VerificationError;
}

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
  private entries = new Map<string, Entry>();
  private refreshing: Promise<VerifiedToolList> | undefined;
  private stale = true;

  constructor(client: Client, options: VerifiedClientOptions) {
    this.client = client;
    this.options = options;
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

  private async doRefresh(): Promise<VerifiedToolList> {
    this.stale = false;
    const raw: unknown[] = [];
    let cursor: string | undefined;
    const maxPages = this.options.maxPages ?? 50;
    for (let page = 0; page < maxPages; page++) {
      const result = await this.client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, RawToolListSchema);
      raw.push(...toJsonValues(result.tools, this.serverId));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    // One request and one registry signature for the whole list, when a registry is configured.
    await this.options.verifier.prefetch(raw, this.checkOptions()).catch(() => undefined);
    const entries = new Map<string, Entry>();
    const duplicates = new Set<string>();
    await Promise.all(
      raw.map(async (tool) => {
        const name = tool !== null && typeof tool === 'object' && typeof (tool as { name?: unknown }).name === 'string' ? (tool as { name: string }).name : '';
        let result: VerifiedTool | VerificationError;
        try {
          result = await this.options.verifier.check(tool, this.checkOptions());
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
    return this.snapshot();
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
      else tools.push(toSignedDefinition((entry.result as VerifiedTool).definition));
    }
    return { tools, withheld };
  }

  /** The current verified tool of a name, or the error that withholds it. */
  async inspect(name: string): Promise<VerifiedTool> {
    if (this.stale || this.refreshing) await this.refresh();
    const entry = this.entries.get(name);
    if (entry === undefined)
      throw new VerificationError('UNKNOWN_TOOL', `server ${this.serverId} does not list a tool "${name}"`, { toolName: name, serverId: this.serverId });
    if (entry.result instanceof VerificationError) throw entry.result;
    return entry.result;
  }

  /** Records the user's approval of a tool that needs it (NEEDS_APPROVAL, NEW_VERSION, PERMISSION_ESCALATION). */
  async approve(name: string, options: { permissions?: readonly string[] } = {}): Promise<LockfilePin> {
    const tool = await this.inspect(name);
    const pin = await this.options.verifier.approve(tool, options);
    const entry = this.entries.get(name);
    if (entry !== undefined) {
      try {
        entry.result = await this.options.verifier.check(entry.raw, this.checkOptions());
      } catch (error) {
        entry.result = asError(error, name);
      }
    }
    return pin;
  }

  /**
   * Re-checks a tool before calling it: pending re-verification first, then the live
   * definition's digest against the cached evidence and the pin, then the policy. Throws
   * VerificationError (RUG_PULL, DEFINITION_MISMATCH, NEEDS_APPROVAL, POLICY_DENIED, ...).
   */
  async authorize(name: string, args: Record<string, unknown>, options: VerifiedCallOptions = {}): Promise<VerifiedTool> {
    if (this.stale || this.refreshing) await this.refresh();
    const entry = this.entries.get(name);
    if (entry === undefined)
      throw new VerificationError('UNKNOWN_TOOL', `server ${this.serverId} does not list a tool "${name}"`, { toolName: name, serverId: this.serverId });
    if (entry.result instanceof VerificationError) throw entry.result;
    // The re-check: digest of the live definition against the cached verification and the pin.
    let tool: VerifiedTool;
    try {
      tool = await this.options.verifier.check(entry.raw, this.checkOptions());
    } catch (error) {
      entry.result = asError(error, name);
      throw entry.result;
    }
    entry.result = tool;
    const d = tool.decision;
    if (d.status !== 'approved') throw new VerificationError(d.code, d.message, { toolId: tool.toolId, version: tool.version, ...(d.grew ? { grew: d.grew } : {}) });
    if (this.options.policy !== undefined) {
      const annotations = tool.manifest.definition.annotations;
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
    }
    return tool;
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
