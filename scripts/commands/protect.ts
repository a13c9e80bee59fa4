import { existsSync, realpathSync } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi protect <host config> --registry <url> --lockfile <file>
             [--audit-log <file>] [--relist-interval <duration>] [--etdi <path>] [--json]
etdi protect <host config> --undo [--json]

Rewrites an MCP host's configuration file (Claude Desktop, Cursor: "mcpServers"; VS Code
mcp.json: "servers") so that each stdio server runs behind etdi proxy: its command becomes
etdi proxy --registry ... --lockfile ... -- <the server's own command and arguments>; its env
and every other field stay as they were, and so do comments and layout. Then only verified,
approved tools reach the host; approve them first (etdi scan shows what needs approval).

  - The first run that changes the file keeps the original as <file>.etdi-backup.
  - Idempotent: a server already behind etdi proxy is left alone; a second run changes nothing.
  - Remote servers ("url") and SSE servers are left as they are and listed (front a remote
    server with etdi proxy --url by hand, giving its headers).
  - --undo puts the backup back (byte for byte) and removes it, after checking that the file
    differs from the backup only by what protect did; if the file was edited since, --undo
    refuses (exit 1) and names the servers that differ.

  --registry <url>      the registry the proxy verifies against
  --lockfile <file>     the approvals (written into the file as an absolute path)
  --audit-log <file>    give each proxy this decision trail (absolute path; JSON lines)
  --relist-interval <d> give each proxy this re-list interval (default: the proxy's, 5s)
  --etdi <path>         the etdi executable the host runs (default: this node and this etdi's
                        cli.js, by absolute path: hosts start servers with a minimal PATH)
  --undo                restore the backup
  --json                {"ok":true,"config","backup","servers":[{"name","action"}]}

Example:
  etdi protect ~/Library/Application\\ Support/Claude/claude_desktop_config.json \\
    --registry https://registry.example --lockfile ~/etdi.lock.json

Exit codes: 0 protected (or already protected, or undone), 1 --undo refused (the file changed
since), 2 usage, unreadable or invalid configuration, no backup to undo.`;

type Action = 'protected' | 'already protected' | 'left as is (remote server)' | 'left as is (SSE)' | 'restored';

/** etdi as the host will start it: absolute node and cli.js (hosts start servers with a minimal PATH). */
function defaultLauncher(): { command: string; args: string[] } {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  if (!existsSync(cli)) throw usage('protect', 'cannot find this etdi\'s cli.js (running from sources?): give --etdi <path of the etdi executable>');
  return { command: process.execPath, args: [realpathSync(cli)] };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  const temporary = `${path}.etdi-tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, path);
}

export const protectCommand: Command = {
  name: 'protect',
  summary: "rewrite a host's configuration so each stdio MCP server runs behind etdi proxy (--undo restores it)",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('protect', argv, {
      registry: { type: 'string' },
      lockfile: { type: 'string' },
      'audit-log': { type: 'string' },
      'relist-interval': { type: 'string' },
      etdi: { type: 'string' },
      undo: { type: 'boolean' },
    });
    const out = new Output(io, values.json === true);
    const configPath = positionals[0];
    if (configPath === undefined || positionals.length > 1) throw usage('protect', 'give one host configuration file');
    const { parseJsonc, proxiedCommand, readHostConfig, withCommand } = await import('../cli-support/host-config.js');
    const config = await readHostConfig(configPath);
    const backup = `${configPath}.etdi-backup`;

    if (values.undo === true) {
      for (const flag of ['registry', 'lockfile', 'audit-log', 'relist-interval', 'etdi']) if (values[flag] !== undefined) throw usage('protect', `--undo takes no --${flag}`);
      if (!existsSync(backup)) throw new CliError('USAGE', `no backup ${backup}: etdi protect has not changed ${configPath} (or the backup was removed)`, { path: configPath });
      const { readFile } = await import('node:fs/promises');
      const original = await readFile(backup, 'utf8');
      // The file must be the backup plus protect's own changes: anything else would be lost.
      const before = (parseJsonc(original, backup) as Record<string, Record<string, Record<string, unknown>>>)[config.key] ?? {};
      const differing: string[] = [];
      for (const name of new Set([...Object.keys(before), ...config.servers.map((s) => s.name)])) {
        const now = config.servers.find((s) => s.name === name);
        const was = before[name];
        if (now === undefined || was === undefined) {
          differing.push(name);
          continue;
        }
        const inner = proxiedCommand(now.entry);
        const unwrapped = inner ? { ...now.entry, command: inner[0], args: inner.slice(1) } : now.entry;
        const normal = (e: Record<string, unknown>): Record<string, unknown> => ({ ...e, args: (e.args as unknown[] | undefined) ?? [] });
        if (!isDeepStrictEqual(normal(unwrapped), normal(was))) differing.push(name);
      }
      if (differing.length > 0)
        throw new CliError('REFUSED', `${configPath} was edited since etdi protect (${differing.map((n) => `"${n}"`).join(', ')} differ from ${backup}); restore by hand from the backup`, { path: configPath, backup, differing });
      await writeAtomically(configPath, original);
      await rm(backup);
      const servers = config.servers.map((s) => ({ name: s.name, action: 'restored' as Action }));
      out.result({ ok: true, config: configPath, backup, servers });
      out.line(`${configPath} restored from ${backup} (backup removed)`);
      return EXIT.OK;
    }

    const registry = required('protect', values, 'registry');
    const lockfile = resolve(required('protect', values, 'lockfile'));
    const auditLog = optional(values, 'audit-log');
    const relist = optional(values, 'relist-interval');
    if (relist !== undefined) {
      const { parseInterval } = await import('./proxy.js');
      parseInterval(relist);
    }
    const etdi = optional(values, 'etdi');
    const launcher = etdi !== undefined ? { command: etdi, args: [] } : defaultLauncher();
    const proxyArgs = [
      'proxy',
      '--registry',
      registry,
      '--lockfile',
      lockfile,
      ...(auditLog !== undefined ? ['--audit-log', resolve(auditLog)] : []),
      ...(relist !== undefined ? ['--relist-interval', relist] : []),
      '--',
    ];

    let text = config.text;
    const servers: { name: string; action: Action }[] = [];
    for (const server of config.servers) {
      if (server.transport === 'sse') servers.push({ name: server.name, action: 'left as is (SSE)' });
      else if (server.transport === 'http') servers.push({ name: server.name, action: 'left as is (remote server)' });
      else if (server.proxied !== undefined) servers.push({ name: server.name, action: 'already protected' });
      else {
        const own = [server.entry.command!, ...(server.entry.args ?? [])];
        text = withCommand(text, config.key, server.name, launcher.command, [...launcher.args, ...proxyArgs, ...own]);
        servers.push({ name: server.name, action: 'protected' });
      }
    }
    const changed = text !== config.text;
    if (changed) {
      // The original, before etdi ever touched it: a later run never overwrites it.
      if (!existsSync(backup)) await writeFile(backup, config.text, { mode: (await stat(configPath)).mode & 0o777, flag: 'wx' });
      await writeAtomically(configPath, text);
    }
    out.result({ ok: true, config: configPath, backup: existsSync(backup) ? backup : null, servers });
    out.table(['SERVER', 'ACTION'], servers.map((s) => [s.name, s.action === 'protected' ? out.paint('green', s.action) : s.action]));
    if (changed) out.line(`\n${configPath} rewritten; the original is ${backup} (etdi protect --undo restores it). Restart the host to apply.`);
    else out.line(`\n${configPath} unchanged: every stdio server is already behind etdi proxy`);
    return EXIT.OK;
  },
};
