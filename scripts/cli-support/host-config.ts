import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import jsonc from 'jsonc-parser';
import { HostConfigSchema, type HostServerEntry } from '@etdi/schemas';
import { CliError } from './errors.js';
import type { ServerTarget } from './server-target.js';

/**
 * MCP host configuration files (Claude Desktop's claude_desktop_config.json, Cursor's
 * mcp.json: `mcpServers`; VS Code's mcp.json: `servers`). VS Code's is JSON with comments, so
 * they are read with jsonc-parser (VS Code's own parser) and edited with its `modify`, which
 * changes only the edited values and keeps every comment and the file's layout.
 */
export type ServersKey = 'mcpServers' | 'servers';

export interface HostServer {
  name: string;
  entry: HostServerEntry;
  /** stdio (a command), http (Streamable HTTP), or a transport etdi does not speak (sse). */
  transport: 'stdio' | 'http' | 'sse';
  /** For a server already behind `etdi proxy`: the server's own command (after `--`). */
  proxied?: readonly string[];
}

export interface HostConfigFile {
  path: string;
  text: string;
  key: ServersKey;
  servers: HostServer[];
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/** Parses JSON with comments and trailing commas; a syntax error is a USAGE error with its place. */
export function parseJsonc(text: string, path: string): unknown {
  const errors: jsonc.ParseError[] = [];
  const value: unknown = jsonc.parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined) {
    const line = text.slice(0, first.offset).split('\n').length;
    throw new CliError('USAGE', `${path} is not JSON (with comments): ${jsonc.printParseErrorCode(first.error)} at line ${line}`, { path });
  }
  return value;
}

/**
 * The server command of an entry that runs `etdi proxy ... -- <command...>`, or undefined.
 * Recognised by its arguments (`proxy` then `--`) and its executable (an `etdi` binary, or
 * node running etdi's cli.js), so that protect never wraps a proxy in a proxy.
 */
export function proxiedCommand(entry: HostServerEntry): readonly string[] | undefined {
  if (entry.command === undefined) return undefined;
  const argv = [entry.command, ...(entry.args ?? [])];
  const proxy = argv.indexOf('proxy');
  const dash = argv.indexOf('--', proxy);
  if (proxy < 1 || dash === -1) return undefined;
  const launcher = argv.slice(0, proxy).map((a) => basename(a));
  if (!launcher.some((a) => a === 'etdi' || a === 'etdi.cmd' || a === 'cli.js')) return undefined;
  return argv.slice(dash + 1);
}

function transportOf(entry: HostServerEntry): HostServer['transport'] {
  if (entry.type === 'sse') return 'sse';
  if (entry.command !== undefined && entry.type !== 'http') return 'stdio';
  return 'http';
}

export async function readHostConfig(path: string): Promise<HostConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot read the host configuration ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
  if (text.length > MAX_CONFIG_BYTES) throw new CliError('USAGE', `${path} is larger than 1 MiB: not a host configuration`, { path });
  const parsed = HostConfigSchema.safeParse(parseJsonc(text, path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(
      'USAGE',
      `${path} is not an MCP host configuration: expected "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code mcp.json) mapping names to {command, args, env} or {url}${issue && issue.path.length > 0 ? ` (at ${issue.path.join('.')}: ${issue.message})` : ''}`,
      { path },
    );
  }
  const config = parsed.data as Record<string, unknown>;
  const key: ServersKey = 'mcpServers' in config ? 'mcpServers' : 'servers';
  const entries = config[key] as Record<string, HostServerEntry>;
  const servers = Object.entries(entries).map(([name, entry]) => {
    const proxied = proxiedCommand(entry);
    return { name, entry, transport: transportOf(entry), ...(proxied ? { proxied } : {}) };
  });
  return { path, text, key, servers };
}

/** What to connect to for a server of the file (the real server, behind any proxy). */
export function targetOf(server: HostServer, parseUrl: (text: string) => URL): ServerTarget | undefined {
  const { entry } = server;
  if (server.transport === 'stdio') {
    const command = server.proxied ?? [entry.command!, ...(entry.args ?? [])];
    return { kind: 'command', command, ...(entry.env ? { env: entry.env } : {}) };
  }
  if (server.transport === 'http' && entry.url !== undefined) return { kind: 'url', url: parseUrl(entry.url), ...(entry.headers ? { headers: entry.headers } : {}) };
  return undefined;
}

/** The file with one server's `command` and `args` replaced, comments and layout kept. */
export function withCommand(text: string, key: ServersKey, name: string, command: string, args: readonly string[]): string {
  const options = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: text.includes('\r\n') ? '\r\n' : '\n' } };
  let next = jsonc.applyEdits(text, jsonc.modify(text, [key, name, 'command'], command, options));
  next = jsonc.applyEdits(next, jsonc.modify(next, [key, name, 'args'], [...args], options));
  return next;
}
