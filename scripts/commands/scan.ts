import { optional, parse, required } from '../cli-support/args.js';
import { ERROR_CODES, isErrorCode } from '@etdi/protocol';
import type { Command } from '../cli-support/command.js';
import { EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import type { ToolReport } from '../cli-support/tools.js';

const help = `etdi scan <host config> --registry <url> --lockfile <file> [--provider <ns>]
          [--trust <file>] [--json | --sarif]

Verifies every MCP server of an MCP host's configuration file and reports per server and tool:
Claude Desktop (claude_desktop_config.json) and Cursor (mcp.json), which list "mcpServers", and
VS Code (mcp.json, JSON with comments), which lists "servers". Each stdio server is started with
its command, arguments and env as the host would start it (a server already behind etdi proxy is
started without the proxy); each Streamable HTTP server ("url") is reached with its headers.
Every tool of each tools/list is verified like etdi verify does. SSE servers are reported as
skipped (etdi speaks stdio and Streamable HTTP).

  --registry <url>     the registry's base URL
  --lockfile <file>    the approvals (a missing file reads as empty: every tool needs approval)
  --provider <ns>      the namespace every server's tools must come from
  --trust <file>       pinned registry keys (default <lockfile>.trust.json, written on first use)
  --json               {"ok":bool,"config","servers":[{"name","transport","proxied":bool,
                        "status":"ok"|"findings"|"failed"|"skipped","error"?,"tools":[...]}]}
                        (each tool as in etdi verify --json)
  --sarif              SARIF 2.1.0: one result per tool that is not approved, and per server
                        that could not be checked

Example:
  etdi scan ~/.config/Claude/claude_desktop_config.json \\
    --registry https://registry.example --lockfile ~/etdi.lock.json

Exit codes: 0 every tool of every server verified and approved, 1 a tool needs approval or is
rejected, 2 usage, unreadable configuration, registry unreachable, or a server failed to start.`;

export interface ServerScan {
  name: string;
  transport: 'stdio' | 'http' | 'sse';
  proxied: boolean;
  status: 'ok' | 'findings' | 'failed' | 'skipped';
  error?: { code: string; message: string };
  tools: ToolReport[];
}

const RULES: Record<string, string> = {
  SERVER_FAILED: 'The MCP server could not be started or reached: its tools were not checked',
  TRANSPORT_UNSUPPORTED: 'The server uses a transport etdi does not speak (SSE): its tools were not checked',
};

/** SARIF 2.1.0 for code-scanning dashboards: the configuration file is the artifact. */
export function scanToSarif(servers: readonly ServerScan[], configPath: string): unknown {
  const results: unknown[] = [];
  for (const s of servers) {
    if (s.error !== undefined)
      results.push({
        ruleId: s.error.code,
        level: s.status === 'skipped' ? 'note' : 'error',
        message: { text: `server "${s.name}": ${s.error.message}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: configPath } }, logicalLocations: [{ fullyQualifiedName: s.name, kind: 'module' }] }],
      });
    for (const t of s.tools) {
      if (t.status === 'approved') continue;
      results.push({
        ruleId: t.code ?? 'REJECTED',
        level: t.status === 'rejected' ? 'error' : 'warning',
        message: { text: `server "${s.name}", tool "${t.name}": ${t.message ?? ''}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: configPath } }, logicalLocations: [{ fullyQualifiedName: `${s.name}/${t.name}`, kind: 'function' }] }],
        properties: { server: s.name, tool: t.name, ...(t.toolId ? { toolId: t.toolId } : {}), ...(t.version ? { version: t.version } : {}) },
      });
    }
  }
  const codes = [...new Set(results.map((r) => (r as { ruleId: string }).ruleId))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'etdi scan', rules: codes.map((id) => ({ id, shortDescription: { text: RULES[id] ?? id } })) } }, results }],
  };
}

export const scanCommand: Command = {
  name: 'scan',
  summary: "verify every MCP server of a host's configuration (Claude Desktop, VS Code, Cursor); --json, --sarif",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('scan', argv, {
      registry: { type: 'string' },
      lockfile: { type: 'string' },
      provider: { type: 'string' },
      trust: { type: 'string' },
      sarif: { type: 'boolean' },
    });
    if (values.json === true && values.sarif === true) throw usage('scan', 'give --json or --sarif, not both');
    const machine = values.json === true || values.sarif === true;
    const out = new Output(io, machine);
    const configPath = positionals[0];
    if (configPath === undefined || positionals.length > 1) throw usage('scan', 'give one host configuration file');
    const registry = required('scan', values, 'registry');
    const lockfilePath = required('scan', values, 'lockfile');
    const provider = optional(values, 'provider');
    const trustPath = optional(values, 'trust');
    const { readHostConfig, targetOf } = await import('../cli-support/host-config.js');
    const { connectTarget, parseServerUrl } = await import('../cli-support/server-target.js');
    const { reportOfTool, reportOfWithheld } = await import('../cli-support/tools.js');
    const { openVerifier } = await import('../cli-support/trust.js');
    const { VerifiedClient } = await import('@etdi/client');
    const config = await readHostConfig(configPath);
    const opened = await openVerifier({ registry, lockfilePath, ...(trustPath ? { trustPath } : {}), save: true, out, persist: true });

    const servers: ServerScan[] = [];
    // One server at a time: each is a process (or a session) of its own.
    for (const server of config.servers) {
      const base = { name: server.name, transport: server.transport, proxied: server.proxied !== undefined };
      let target;
      try {
        target = targetOf(server, (text) => parseServerUrl('scan', text));
      } catch (error) {
        servers.push({ ...base, status: 'failed', error: { code: 'SERVER_FAILED', message: (error as Error).message }, tools: [] });
        continue;
      }
      if (target === undefined) {
        servers.push({ ...base, status: 'skipped', error: { code: 'TRANSPORT_UNSUPPORTED', message: `"${server.name}" uses ${server.transport === 'sse' ? 'SSE' : 'no command and no url'}; etdi speaks stdio and Streamable HTTP` }, tools: [] });
        continue;
      }
      let connected;
      try {
        connected = await connectTarget(target, { clientName: 'etdi-scan', env: io.env });
      } catch (error) {
        servers.push({ ...base, status: 'failed', error: { code: 'SERVER_FAILED', message: (error as Error).message }, tools: [] });
        continue;
      }
      try {
        const client = new VerifiedClient(connected.client, { verifier: opened.verifier, serverId: server.name, ...(provider ? { provider } : {}) });
        const list = await client.listTools();
        const tools: ToolReport[] = [];
        for (const t of list.tools) tools.push(reportOfTool(await client.inspect(t.name as string)));
        tools.push(...list.withheld.map(reportOfWithheld));
        tools.sort((a, b) => a.name.localeCompare(b.name));
        servers.push({ ...base, status: tools.every((t) => t.status === 'approved') ? 'ok' : 'findings', tools });
      } catch (error) {
        servers.push({ ...base, status: 'failed', error: { code: 'SERVER_FAILED', message: (error as Error).message }, tools: [] });
      } finally {
        await connected.close().catch(() => undefined);
      }
    }

    const operational = servers.some((s) => s.status === 'failed' || s.tools.some((t) => t.code !== undefined && isErrorCode(t.code) && ERROR_CODES[t.code].kind === 'operational'));
    const ok = servers.every((s) => s.status === 'ok' || s.status === 'skipped');
    if (values.sarif === true) io.stdout.write(JSON.stringify(scanToSarif(servers, configPath), null, 2) + '\n');
    else out.result({ ok, config: configPath, servers });
    if (!machine) {
      const rows: string[][] = [];
      for (const s of servers) {
        if (s.error !== undefined) rows.push([s.name, '', s.status === 'skipped' ? out.paint('dim', `skipped (${s.error.code})`) : out.paint('red', `FAILED (${s.error.code})`), '', '']);
        for (const t of s.tools)
          rows.push([
            s.name,
            t.name,
            t.status === 'approved' ? out.paint('green', 'approved') : t.status === 'needs-approval' ? out.paint('yellow', `needs approval (${t.code})`) : out.paint('red', `REJECTED ${t.code}`),
            t.toolId ?? '',
            t.version ?? '',
          ]);
      }
      out.table(['SERVER', 'TOOL', 'DECISION', 'TOOL ID', 'VERSION'], rows);
      for (const s of servers) {
        if (s.error !== undefined) out.line(`\n${s.name}: ${s.error.message}`);
        for (const t of s.tools) if (t.status !== 'approved') out.line(`\n${s.name} / ${t.name}: ${t.message ?? ''}`);
      }
      if (servers.length === 0) out.line(`${configPath} lists no MCP server`);
    }
    if (operational) return EXIT.ERROR;
    return ok ? EXIT.OK : EXIT.FINDINGS;
  },
};
