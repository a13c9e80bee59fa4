import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { InitializeRequest, InitializeResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { VerificationError, VerifiedToolList } from '@etdi/client';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi proxy --registry <url> --lockfile <file> [--provider <ns>] [--trust <file>]
           -- <mcp server command...>

A stdio MCP proxy in front of any MCP server command: an MCP host (desktop assistant, IDE) gets
verification by changing only its server command. The proxy speaks MCP on its own stdin/stdout
to the host and runs the real server as a child process with the MCP SDK client. It:
  - answers tools/list with only the verified, approved tools (each exactly the signed
    definition the server sent), and reports every withheld tool and why on stderr;
  - refuses tools/call to a withheld tool with an MCP error (-32602) whose message says why
    (e.g. "etdi: tool "x" withheld: DEFINITION_MISMATCH: ...") and whose data carries the code
    and evidence; every call is re-checked against the live definition and the pin first;
  - re-verifies on notifications/tools/list_changed and forwards the notification;
  - forwards everything else (resources, prompts, completions, logging, notifications) and the
    server's requests to the host (sampling, roots, elicitation): the server is started when the
    host initialises the session, with the host's client capabilities.
Approvals are made beforehand with etdi approve; the proxy never approves.

Example (an MCP host's server configuration; the real server command goes after --):
  "command": "etdi", "args": ["proxy", "--registry", "https://registry.example",
    "--lockfile", "/home/me/etdi.lock.json", "--", "npx", "-y", "@acme/mcp-server"]

Exit codes: 0 the host disconnected, 2 usage, registry unreachable at start, corrupt lockfile,
or the server failed to start or exited.`;

const AnyResult = z.looseObject({});

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
  summary: 'stdio MCP proxy in front of a server command: only verified tools reach the host',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals, command } = parse('proxy', argv, { registry: { type: 'string' }, lockfile: { type: 'string' }, provider: { type: 'string' }, trust: { type: 'string' } });
    // stdout is the MCP channel: every human word goes to stderr.
    const out = new Output({ ...io, stdout: io.stderr }, false);
    const registry = required('proxy', values, 'registry');
    const lockfilePath = required('proxy', values, 'lockfile');
    if (positionals.length > 0) throw usage('proxy', `unexpected argument ${positionals[0]} (put the server command after --)`);
    if (command.length === 0) throw usage('proxy', 'give the MCP server command after --');
    const provider = optional(values, 'provider');
    const trustPath = optional(values, 'trust');
    const { openVerifier } = await import('../cli-support/trust.js');
    const { connectServer } = await import('../cli-support/tools.js');
    const { VerificationError, VerifiedClient } = await import('@etdi/client');
    const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
    const { CallToolRequestSchema, InitializeRequestSchema, ListToolsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const opened = await openVerifier({ registry, lockfilePath, ...(trustPath ? { trustPath } : {}), save: true, out, persist: true });

    const report = (list: VerifiedToolList): void => {
      for (const w of list.withheld) out.note(`etdi proxy: withheld "${w.name}": ${w.code}: ${w.message}`);
    };
    // Everything the server may do is accepted here and narrowed in the answer to initialize:
    // the real server is only started then, so the host's answer is the real server's.
    const server: Server = new Server({ name: 'etdi-proxy', version: '0.0.0' }, { capabilities: PROXY_CAPABILITIES });
    let downstream: Awaited<ReturnType<typeof connectServer>> | undefined;
    let verified: InstanceType<typeof VerifiedClient> | undefined;
    let failed: ExitCode | undefined;
    const done = new Promise<ExitCode>((resolve) => {
      server.onclose = () => resolve(failed ?? EXIT.OK);
      io.stdin.once('end', () => resolve(failed ?? EXIT.OK));
      // The host's initialize starts the real server with the host's own client capabilities
      // (sampling, roots, elicitation), so that the server's requests for them can be forwarded.
      server.setRequestHandler(InitializeRequestSchema, async (request) => {
        const base = await (server as unknown as { _oninitialize(r: InitializeRequest): Promise<InitializeResult> })._oninitialize(request);
        try {
          downstream = await connectServer(command, 'etdi-proxy', io.env, request.params.capabilities);
        } catch (error) {
          failed = EXIT.ERROR;
          out.note(`etdi proxy: ${(error as Error).message}`);
          setImmediate(() => resolve(EXIT.ERROR));
          throw error;
        }
        const client = downstream.client;
        client.onclose = () => {
          out.note('etdi proxy: the server exited');
          resolve(EXIT.ERROR);
        };
        verified = new VerifiedClient(client, {
          verifier: opened.verifier,
          serverId: command.join(' '),
          ...(provider ? { provider } : {}),
          onToolsChanged: (list) => {
            report(list);
            void server.sendToolListChanged().catch(() => undefined);
          },
        });
        // Verify at once, so that problems show in the host's server log when it connects.
        report(await verified.listTools());
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
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const name = request.params.name;
      try {
        return (await ready().verified.callTool(name, request.params.arguments ?? {})) as never;
      } catch (error) {
        if (error instanceof VerificationError) {
          out.note(`etdi proxy: refused a call to "${name}": ${error.code}`);
          throw withheldError(name, error);
        }
        throw error;
      }
    });
    // Everything else passes through unchanged, both ways.
    server.fallbackRequestHandler = async (request) => (await ready().client.request({ method: request.method, params: request.params }, AnyResult)) as never;
    server.fallbackNotificationHandler = async (notification) => {
      if (downstream !== undefined) await downstream.client.notification(notification as never);
    };

    const transport = new StdioServerTransport();
    await server.connect(transport);
    const code = await done;
    await server.close().catch(() => undefined);
    await downstream?.close().catch(() => undefined);
    return code;
  },
};
