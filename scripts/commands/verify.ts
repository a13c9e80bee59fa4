import { optional, parse, required } from '../cli-support/args.js';
import { EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile } from '../cli-support/files.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { ERROR_CODES, isErrorCode } from '@etdi/protocol';
import type { Command } from '../cli-support/command.js';
import type { ToolReport } from '../cli-support/tools.js';

const help = `etdi verify --registry <url> --lockfile <file>
            (--definition <tool.json> | -- <mcp server command...>)
            [--provider <ns>] [--trust <file>] [--json]

Verifies a live tool definition, or every tool of a running MCP server (spawned over stdio with
the MCP SDK client; tools/list read exactly as sent), against the registry and the lockfile:
signature, signer key of the owning namespace, key and version revocation, live digest, log
inclusion, attestation token, then the pins (rug pull, rollback, escalation, provider change,
look-alike squatting). Prints each tool's decision and its evidence, then the commands to run
next (etdi approve --all for the tools that need approval, etdi diff for an escalation, etdi
audit and etdi proxy once every tool is approved).

  --registry <url>     the registry's base URL
  --lockfile <file>    the approvals (a missing file reads as empty: every tool needs approval)
  --definition <file>  one tool object as a server lists it (may carry its manifest in _meta)
  --provider <ns>      the namespace this server's tools must come from (resolves unsigned tools)
  --trust <file>       pinned registry keys (default <lockfile>.trust.json, written on first use)
  --json               {"ok":bool,"tools":[{"name","status":"approved"|"needs-approval"|"rejected",
                        "code"?,"message"?,"toolId"?,"version"?,"provider"?,"signerKeyId"?,
                        "definitionDigest"?,"manifestSource"?,"approvedPermissions"?,"evidence"?}]}

Examples:
  etdi verify --registry http://127.0.0.1:8080 --lockfile etdi.lock.json --definition tool.json
  etdi verify --registry http://127.0.0.1:8080 --lockfile etdi.lock.json -- npx my-mcp-server

Exit codes: 0 every tool verified and approved, 1 a tool needs approval or is rejected,
2 usage, registry unreachable, corrupt lockfile or server failed to start.`;

export function printReports(out: Output, tools: ToolReport[]): void {
  out.table(
    ['TOOL', 'DECISION', 'TOOL ID', 'VERSION'],
    tools.map((t) => [
      t.name,
      t.status === 'approved' ? out.paint('green', 'approved') : t.status === 'needs-approval' ? out.paint('yellow', `needs approval (${t.code})`) : out.paint('red', `REJECTED ${t.code}`),
      t.toolId ?? '',
      t.version ?? '',
    ]),
  );
  for (const t of tools) {
    if (t.status === 'approved') continue;
    out.line();
    out.line(`${t.name}: ${t.message ?? ''}`);
    if (t.evidence !== undefined && Object.keys(t.evidence as object).length > 0) out.line(`  evidence: ${JSON.stringify(t.evidence)}`);
  }
}

/** A word as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** What to run next, as commands to copy (human output only: --json readers decide themselves). */
function printNextSteps(
  out: Output,
  tools: ToolReport[],
  ctx: { registry: string; lockfilePath: string; provider?: string; trustPath?: string; definitionPath?: string; command: readonly string[] },
): void {
  if (out.json || tools.length === 0) return;
  const common = `--registry ${shellQuote(ctx.registry)} --lockfile ${shellQuote(ctx.lockfilePath)}${ctx.trustPath ? ` --trust ${shellQuote(ctx.trustPath)}` : ''}`;
  const pending = tools.filter((t) => t.status === 'needs-approval');
  const rejected = tools.filter((t) => t.status === 'rejected');
  out.line();
  out.line(out.paint('bold', 'next:'));
  if (pending.length > 0) {
    if (ctx.command.length > 0) {
      out.line(`  review and pin every tool that needs approval (one table, one confirmation):`);
      out.line(`    etdi approve --all ${common}${ctx.provider ? ` --provider ${shellQuote(ctx.provider)}` : ''} -- ${ctx.command.map(shellQuote).join(' ')}`);
    } else
      for (const t of pending) if (t.toolId && t.version) out.line(`    etdi approve ${t.toolId}@${t.version} ${common}`);
    const escalated = pending.filter((t) => t.code === 'PERMISSION_ESCALATION' && t.toolId && t.version);
    for (const t of escalated) {
      const pinned = (t.evidence as { pinnedVersion?: string } | undefined)?.pinnedVersion;
      if (pinned) out.line(`  see what ${t.toolId} asks for more:  etdi diff ${t.toolId} ${pinned} ${t.version} --registry ${shellQuote(ctx.registry)} --lockfile ${shellQuote(ctx.lockfilePath)}`);
    }
  }
  if (rejected.length > 0)
    out.line(`  ${rejected.length} rejected tool(s) cannot be approved: each code above says why (docs/VERIFIER.md lists them); tell the server's provider`);
  if (pending.length === 0 && rejected.length === 0) {
    out.line(`  check the pins in CI:  etdi audit ${common}`);
    if (ctx.command.length > 0)
      out.line(`  run the server behind the verifier:  etdi proxy ${common}${ctx.provider ? ` --provider ${shellQuote(ctx.provider)}` : ''} -- ${ctx.command.map(shellQuote).join(' ')}`);
  }
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a live definition or every tool of an MCP server command; print decisions and evidence',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals, command } = parse('verify', argv, {
      registry: { type: 'string' },
      lockfile: { type: 'string' },
      definition: { type: 'string' },
      provider: { type: 'string' },
      trust: { type: 'string' },
    });
    const out = new Output(io, values.json === true);
    const registry = required('verify', values, 'registry');
    const lockfilePath = required('verify', values, 'lockfile');
    const definitionPath = optional(values, 'definition');
    if (positionals.length > 0) throw usage('verify', `unexpected argument ${positionals[0]} (put the server command after --)`);
    if ((definitionPath === undefined) === (command.length === 0)) throw usage('verify', 'give exactly one of --definition <file> or -- <server command>');
    const provider = optional(values, 'provider');
    const trustPath = optional(values, 'trust');
    // Loaded on use: the verifier and the MCP SDK are most of a verb's start-up time.
    const { openVerifier } = await import('../cli-support/trust.js');
    const { connectServer, reportOfError, reportOfTool, reportOfWithheld } = await import('../cli-support/tools.js');
    const { VerifiedClient } = await import('@etdi/client');
    const opened = await openVerifier({ registry, lockfilePath, ...(trustPath ? { trustPath } : {}), save: true, out, persist: true });

    let tools: ToolReport[];
    if (definitionPath !== undefined) {
      const live = await readJsonFile(definitionPath, 'the definition');
      const name = typeof (live as { name?: unknown })?.name === 'string' ? (live as { name: string }).name : definitionPath;
      try {
        tools = [reportOfTool(await opened.verifier.verify(live, provider ? { provider } : {}))];
      } catch (error) {
        tools = [reportOfError(name, error)];
      }
    } else {
      const server = await connectServer(command, 'etdi-verify', io.env);
      try {
        const client = new VerifiedClient(server.client, { verifier: opened.verifier, serverId: command.join(' '), ...(provider ? { provider } : {}) });
        const list = await client.listTools();
        tools = [];
        for (const t of list.tools) tools.push(reportOfTool(await client.inspect(t.name as string)));
        tools.push(...list.withheld.map(reportOfWithheld));
      } finally {
        await server.close();
      }
    }
    tools.sort((a, b) => a.name.localeCompare(b.name));
    const ok = tools.every((t) => t.status === 'approved');
    out.result({ ok, tools });
    printReports(out, tools);
    if (tools.length === 0) out.line('the server lists no tools');
    printNextSteps(out, tools, { registry, lockfilePath, ...(provider ? { provider } : {}), ...(trustPath ? { trustPath } : {}), ...(definitionPath ? { definitionPath } : {}), command });
    // The registry did not answer: an operational error (retry), not a finding about the tool.
    if (tools.some((t) => t.code !== undefined && isErrorCode(t.code) && ERROR_CODES[t.code].kind === 'operational')) return EXIT.ERROR;
    return ok ? EXIT.OK : EXIT.FINDINGS;
  },
};
