import { parse } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import type { CliIo } from '../cli-support/output.js';
import { SERVER_OPTIONS, SERVER_OPTIONS_HELP, serverTarget } from '../cli-support/server-target.js';

const help = `etdi tools (-- <mcp server command...> | --url <streamable http url>) [--max-pages <n>]

Prints a server's whole tools/list as JSON on stdout: {"tools":[...]}, every page followed,
each tool exactly as the server sent it (every field, a carried manifest included). This is
what etdi sign --tools-list takes; etdi sign can also read the server itself.

${SERVER_OPTIONS_HELP}
  --max-pages <n>       most tools/list pages followed (default 50); a server paging past it,
                        or repeating a cursor, is an error rather than a partial list

Examples:
  etdi tools -- npx -y @modelcontextprotocol/server-everything > tools.json
  etdi tools --url https://mcp.example.com/mcp --header "Authorization: Bearer $TOKEN"

Exit codes: 0 listed, 2 usage, or the server failed to start, answer or page.`;

export const toolsCommand: Command = {
  name: 'tools',
  summary: "print a server's whole tools/list (every page, exactly as sent) as JSON",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals, command } = parse('tools', argv, { ...SERVER_OPTIONS, 'max-pages': { type: 'string' } });
    if (positionals.length > 0) throw usage('tools', `unexpected argument ${positionals[0]} (put the server command after --)`);
    const target = serverTarget('tools', values, command);
    const maxPages = values['max-pages'] === undefined ? 50 : Number(values['max-pages']);
    if (!Number.isInteger(maxPages) || maxPages < 1) throw usage('tools', `--max-pages ${String(values['max-pages'])} is not a positive whole number`);
    const { connectTarget, fetchToolsList } = await import('../cli-support/server-target.js');
    const server = await connectTarget(target, { clientName: 'etdi-tools', env: io.env });
    try {
      const tools = await fetchToolsList(server.client, target, maxPages);
      // Always JSON: the output is meant for a file or a pipe (--json changes nothing).
      io.stdout.write(JSON.stringify({ tools }, null, 2) + '\n');
    } finally {
      await server.close().catch(() => undefined);
    }
    return EXIT.OK;
  },
};
