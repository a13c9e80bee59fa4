import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { InitializeRequest, InitializeResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { VerificationError } from '@etdi/client';
import { openSync, writeSync, closeSync } from 'node:fs';
import type { AuditEvent } from '@etdi/schemas';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { SERVER_OPTIONS, SERVER_OPTIONS_HELP, describeTarget, serverTarget } from '../cli-support/server-target.js';
import { DECLARATIONS_OPTIONS, DECLARATIONS_OPTIONS_HELP, declarationsOf } from '../cli-support/declarations.js';

/** Same bound as client-verifier's MAX_LISTING_MAX_AGE_MS (not imported: it would load the verifier for --help). */
const MAX_LISTING_MAX_AGE_MS = 3_600_000;

/** The human line on stderr for a tool event of the trail (each is written once per change). */
function describeToolEvent(event: AuditEvent): string | undefined {
  const why = event.event !== 'tool.removed' && 'change' in event && event.change === 'definition' ? ' (its definition changed)' : '';
  if (event.event === 'tool.withheld') return `etdi proxy: withheld "${event.tool}"${why}: ${event.code}: ${event.message}`;
  if (event.event === 'tool.listed' && event.change !== 'first') return `etdi proxy: "${event.tool}" passes again${why}`;
  if (event.event === 'tool.removed') return `etdi proxy: "${event.tool}" is no longer listed by the server`;
  return undefined;
}

const help = `etdi proxy --registry <url> --lockfile <file> [--provider <ns>] [--trust <file>]
           [--relist-interval <duration>] [--audit-log <file>] [--cosmetic]
           [SEP-3140 flags, below: then --registry is optional]
           (-- <mcp server command...> | --url <streamable http url> [--header <n: v>]...)

An MCP proxy in front of any MCP server: an MCP host (desktop assistant, IDE) gets verification
by changing only its server command. The proxy speaks MCP over stdio to the host, and to the
real server either as a child process (-- <command...>) or over Streamable HTTP (--url). It:
  - answers tools/list with only the verified, approved tools (each exactly the signed
    definition the server sent), and logs each withheld tool and why on stderr, once: a later
    listing that says the same logs nothing; a changed definition or decision is logged once;
  - refuses tools/call to a withheld tool with an MCP error (-32602) whose message says why
    (e.g. "etdi: tool "x" withheld: RUG_PULL: ...") and whose data carries the code and
    evidence; every call is re-checked against the live definition and the pin first;
  - lists and verifies the server's tools again before a call when its listing is older than
    --relist-interval, so that a definition changed without notice (no list_changed) is refused
    at the next call after the interval; and at once on notifications/tools/list_changed;
    the host is sent list_changed when what it may see changed;
  - forwards everything else (resources, prompts, completions, logging, notifications) and the
    server's requests to the host (sampling, roots, elicitation): the server is started when the
    host initialises the session, with the host's client capabilities.
Approvals are made beforehand with etdi approve; the proxy approves nothing by itself, except
what the host's own rules say: --cosmetic (a new signed version whose only changes are its title
or icons) and --approve-read-only (SEP-3140 read-only tools on first use), each written to the
lockfile. When the host disconnects the proxy stops the server and exits quietly.

  --registry <url>      the registry's base URL
  --lockfile <file>     the approvals (etdi approve writes them)
  --provider <ns>       the namespace this server's tools must come from
  --trust <file>        pinned registry keys (default <lockfile>.trust.json)
  --relist-interval <d> most age of the verified listing at a call: 500ms, 5s, ... up to 1h;
                        0 lists before every call (default 5s)
  --audit-log <file>    append every decision as one JSON line (etdi.audit/v1, docs/VERIFIER.md):
                        tools listed or withheld (once per change), calls allowed or refused
  --cosmetic            accept a new signed version whose only changes are cosmetic (title,
                        icons) without asking; off by default
${SERVER_OPTIONS_HELP}

${DECLARATIONS_OPTIONS_HELP}

Example (an MCP host's server configuration; the real server command goes after --):
  "command": "etdi", "args": ["proxy", "--registry", "https://registry.example",
    "--lockfile", "/home/me/etdi.lock.json", "--audit-log", "/home/me/etdi-audit.jsonl",
    "--", "npx", "-y", "@acme/mcp-server"]
(etdi protect writes this for every stdio server of a host's configuration.)

Exit codes: 0 the host disconnected, 2 usage, registry unreachable at start, corrupt lockfile,
unwritable audit log, or the server failed to start or exited.`;

/** `500ms`, `5s`, `0`: the re-list interval in milliseconds, bounded like the SDK wrapper's option. */
export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const n = m ? Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1) : NaN;
  if (m === null || (m[2] === undefined && n !== 0)) throw usage('proxy', `--relist-interval ${text} is not a duration (e.g. 500ms, 5s, 0)`);
  if (n > MAX_LISTING_MAX_AGE_MS) throw usage('proxy', `--relist-interval ${text} is longer than 1h: a silent change would go unseen that long`);
  return Math.round(n);
}

const AnyResult = z.looseObject({});

/**
 * What the proxy reads of a tools/call request: the name it checks and the arguments the policy
 * sees; everything else (`_meta`, `task`) is forwarded as the host sent it. Parsed here rather
 * than by the SDK's tools/call handler, which walks the request twice and the result once more
 * with the full schemas (the host and the server each validate them already).
 */
const CallParamsSchema = z.looseObject({ name: z.string(), arguments: z.record(z.string(), z.unknown()).optional() });

/**
 * What the proxy's server side accepts before it knows the real server: every capability, so
 * that the SDK lets each request and notification through. The host is told the real server's.
 */
const PROXY_CAPABILITIES: ServerCapabilities = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
};

/**
 * The JSON-RPC error a host sees for a withheld tool: the code and what to do, never a silent
 * drop. A plain Error with `code` and `data` (the SDK copies both into the response); an
 * McpError would prefix its message with "MCP error -32602:" twice by the time the host reads it.
 */
export function withheldError(name: string, error: VerificationError): Error & { code: number; data: unknown } {
  return Object.assign(new Error(`etdi: tool "${name}" withheld: ${error.code}: ${error.message}`), {
    code: -32602, // JSON-RPC invalid params: what MCP answers for a tool it will not run
    data: { etdi: { code: error.code, message: error.message, evidence: error.evidence } },
  });
}

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'MCP proxy in front of a server command or URL: only verified tools reach the host',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals, command } = parse('proxy', argv, {
      ...SERVER_OPTIONS,
      registry: { type: 'string' },
      lockfile: { type: 'string' },
      provider: { type: 'string' },
      trust: { type: 'string' },
      'relist-interval': { type: 'string' },
      'audit-log': { type: 'string' },
      cosmetic: { type: 'boolean' },
      ...DECLARATIONS_OPTIONS,
    });
    // stdout is the MCP channel: every human word goes to stderr.
    const out = new Output({ ...io, stdout: io.stderr }, false);
    const lockfilePath = required('proxy', values, 'lockfile');
    if (positionals.length > 0) throw usage('proxy', `unexpected argument ${positionals[0]} (put the server command after --)`);
    const target = serverTarget('proxy', values, command);
    const declarations = await declarationsOf('proxy', values, target);
    // a SEP-3140 host needs no registry: the server's manifest and its publisher's keys are the evidence
    const registry = declarations !== undefined && values.registry === undefined ? undefined : required('proxy', values, 'registry');
    const serverId = describeTarget(target);
    const listingMaxAgeMs = parseInterval(optional(values, 'relist-interval') ?? '5s');
    const provider = optional(values, 'provider');
    const trustPath = optional(values, 'trust');
    const auditPath = optional(values, 'audit-log');
    const { openVerifier } = await import('../cli-support/trust.js');
    const { connectTarget } = await import('../cli-support/server-target.js');
    const { VerificationError, VerifiedClient } = await import('@etdi/client');
    const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
    const { ErrorCode, InitializeRequestSchema, ListToolsRequestSchema, McpError } = await import('@modelcontextprotocol/sdk/types.js');
    let auditFd: number | undefined;
    if (auditPath !== undefined) {
      try {
        // Append only, readable by the user alone: the trail names tools, arguments' fate and people.
        auditFd = openSync(auditPath, 'a', 0o600);
      } catch (cause) {
        throw new CliError('OPERATIONAL', `cannot open the audit log ${auditPath}: ${(cause as Error).message}`, { path: auditPath }, { cause });
      }
    }
    const { openDeclarationsVerifier } = await import('../cli-support/trust.js');
    const choices = { ...(declarations ? { declarations: declarations.options } : {}), ...(values.cosmetic === true ? { cosmeticUpdates: 'allow' as const } : {}) };
    const opened =
      registry === undefined
        ? await openDeclarationsVerifier({ lockfilePath, declarations: declarations!.options, ...choices, persist: true })
        : await openVerifier({ registry, lockfilePath, ...(trustPath ? { trustPath } : {}), save: true, out, persist: true, ...choices });

    // Everything the server may do is accepted here and narrowed in the answer to initialize:
    // the real server is only started then, so the host's answer is the real server's.
    const server: Server = new Server({ name: 'etdi-proxy', version: '0.0.0' }, { capabilities: PROXY_CAPABILITIES });
    let downstream: Awaited<ReturnType<typeof connectTarget>> | undefined;
    let verified: InstanceType<typeof VerifiedClient> | undefined;
    let failed: ExitCode | undefined;
    // Set when the host ends the session: the server's exit is then expected, not news.
    let closing = false;
    // Whether the host has seen a listing: only then is a change worth a list_changed to it.
    let initialised = false;
    let announce = false;
    let auditBroken = false;
    const onDecision = (event: AuditEvent): void => {
      if (auditFd !== undefined) {
        try {
          writeSync(auditFd, JSON.stringify(event) + '\n');
        } catch (error) {
          if (!auditBroken) out.note(`etdi proxy: cannot write the audit log ${auditPath}: ${(error as Error).message}`);
          auditBroken = true;
        }
      }
      if (!event.event.startsWith('tool.')) return;
      const line = describeToolEvent(event);
      if (line !== undefined) out.note(line);
      // What the host may see changed: tell it once, after the listing that changed it.
      if (initialised && !announce) {
        announce = true;
        setImmediate(() => {
          announce = false;
          void server.sendToolListChanged().catch(() => undefined);
        });
      }
    };
    const done = new Promise<ExitCode>((resolve) => {
      const finish = (code: ExitCode): void => {
        closing = true;
        resolve(code);
      };
      server.onclose = () => finish(failed ?? EXIT.OK);
      io.stdin.once('end', () => finish(failed ?? EXIT.OK));
      // The host's initialize starts the real server with the host's own client capabilities
      // (sampling, roots, elicitation), so that the server's requests for them can be forwarded.
      server.setRequestHandler(InitializeRequestSchema, async (request) => {
        const base = await (server as unknown as { _oninitialize(r: InitializeRequest): Promise<InitializeResult> })._oninitialize(request);
        try {
          downstream = await connectTarget(target, { clientName: 'etdi-proxy', env: io.env, capabilities: request.params.capabilities });
        } catch (error) {
          failed = EXIT.ERROR;
          out.note(`etdi proxy: ${(error as Error).message}`);
          setImmediate(() => finish(EXIT.ERROR));
          throw error;
        }
        const client = downstream.client;
        client.onclose = () => {
          if (closing) return;
          out.note(target.kind === 'command' ? 'etdi proxy: the server exited' : 'etdi proxy: the server closed the session');
          failed = EXIT.ERROR;
          finish(EXIT.ERROR);
        };
        verified = new VerifiedClient(client, {
          verifier: opened.verifier,
          serverId,
          listingMaxAgeMs,
          onDecision,
          ...(provider ? { provider } : {}),
          ...(declarations ? { serverUri: declarations.serverUri } : {}),
        });
        // Verify at once, so that problems show in the host's server log when it connects.
        await verified.listTools();
        initialised = true;
        client.fallbackNotificationHandler = async (notification) => {
          await server.notification(notification as never);
        };
        // Requests of the server to the host (sampling, roots, elicitation) pass through.
        client.fallbackRequestHandler = async (r) => (await server.request({ method: r.method, params: r.params }, AnyResult)) as never;
        const info = client.getServerVersion();
        const capabilities: ServerCapabilities = { ...client.getServerCapabilities(), tools: { listChanged: true } };
        const instructions = client.getInstructions();
        return {
          ...base,
          capabilities,
          serverInfo: { name: `etdi-proxy(${info?.name ?? 'server'})`, version: info?.version ?? '0.0.0' },
          ...(instructions ? { instructions } : {}),
        };
      });
    });
    const ready = (): { verified: InstanceType<typeof VerifiedClient>; client: Client } => {
      if (verified === undefined || downstream === undefined) throw new Error('etdi proxy: the host has not initialised the session');
      return { verified, client: downstream.client };
    };
    server.setRequestHandler(ListToolsRequestSchema, async () => {
      const list = await ready().verified.listTools();
      return { tools: list.tools as never };
    });
    const callTool = async (params: unknown): Promise<never> => {
      const parsed = CallParamsSchema.safeParse(params);
      if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, `Invalid tools/call request: ${parsed.error.issues[0]?.message ?? ''}`);
      const name = parsed.data.name;
      const { verified: checked, client } = ready();
      try {
        await checked.authorize(name, parsed.data.arguments ?? {});
      } catch (error) {
        if (error instanceof VerificationError) {
          out.note(`etdi proxy: refused a call to "${name}": ${error.code}`);
          throw withheldError(name, error);
        }
        throw error;
      }
      // Forwarded as the server sent it: the host validates the result against its own schema.
      return (await client.request({ method: 'tools/call', params: parsed.data }, AnyResult)) as never;
    };
    // Everything else passes through unchanged, both ways.
    server.fallbackRequestHandler = async (request) =>
      request.method === 'tools/call' ? callTool(request.params) : ((await ready().client.request({ method: request.method, params: request.params }, AnyResult)) as never);
    server.fallbackNotificationHandler = async (notification) => {
      if (downstream !== undefined) await downstream.client.notification(notification as never);
    };

    const transport = new StdioServerTransport();
    await server.connect(transport);
    const code = await done;
    await server.close().catch(() => undefined);
    await downstream?.close().catch(() => undefined);
    if (auditFd !== undefined) closeSync(auditFd);
    return code;
  },
};
