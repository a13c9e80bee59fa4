// The SDK is loaded on use (connectTarget): every verb imports this module for its flags, and
// loading the SDK is most of a verb's start-up time (--help included).
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CliError, usage } from './errors.js';
import type { Values } from './args.js';

/**
 * The MCP server a verb talks to: a command it spawns over stdio (`-- <command...>`), or a
 * remote server it reaches over Streamable HTTP (`--url`). One module, so that tools, sign,
 * proxy and scan accept the same options and say the same things when they fail.
 */
export type ServerTarget =
  | { kind: 'command'; command: readonly string[]; env?: Readonly<Record<string, string>> }
  | { kind: 'url'; url: URL; headers?: Readonly<Record<string, string>> };

/** The flags that name a server (add them to a verb's parse options). */
export const SERVER_OPTIONS = {
  url: { type: 'string' },
  header: { type: 'string', multiple: true },
} as const;

/** Help text lines for SERVER_OPTIONS, aligned like the verbs' own. */
export const SERVER_OPTIONS_HELP = `  -- <command...>       the MCP server command, spawned over stdio (with your environment)
  --url <url>           a remote MCP server over Streamable HTTP (https; http only on loopback)
  --header <n: v>       an HTTP header for --url, repeatable (e.g. "Authorization: Bearer ...")`;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A server URL the user may mean: https, or http on a loopback address (a local development
 * server). Tool definitions decide what an agent may run: plain http across a network lets
 * anyone on the path rewrite them between two listings.
 */
export function parseServerUrl(verb: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage(verb, `--url ${text} is not a URL (e.g. https://mcp.example.com/mcp)`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.'))) return url;
  if (url.protocol === 'http:') throw usage(verb, `--url ${text}: plain http is only accepted on a loopback address; use https`);
  throw usage(verb, `--url ${text}: only http(s) Streamable HTTP servers are supported`);
}

function parseHeaders(verb: string, values: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  for (const h of list) {
    const text = String(h);
    const colon = text.indexOf(':');
    const name = colon > 0 ? text.slice(0, colon).trim() : '';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw usage(verb, `--header ${JSON.stringify(text)} is not "Name: value"`);
    headers[name] = text.slice(colon + 1).trim();
  }
  return headers;
}

/** The server a verb's flags name: exactly one of `-- <command...>` and `--url`. */
export function serverTarget(verb: string, values: Values, command: readonly string[]): ServerTarget {
  const url = typeof values.url === 'string' ? values.url : undefined;
  if ((url === undefined) === (command.length === 0)) throw usage(verb, 'give the MCP server as -- <command...> or --url <streamable http url> (exactly one)');
  if (url === undefined) {
    if (values.header !== undefined) throw usage(verb, '--header applies to --url only (a command gets its settings from its environment)');
    return { kind: 'command', command };
  }
  const headers = parseHeaders(verb, values.header);
  return { kind: 'url', url: parseServerUrl(verb, url), ...(Object.keys(headers).length > 0 ? { headers } : {}) };
}

/** How reports and the decision trail name the server (never a header: they may hold secrets). */
export function describeTarget(target: ServerTarget): string {
  return target.kind === 'command' ? target.command.join(' ') : target.url.href;
}

export interface ConnectedServer {
  client: Client;
  /** Closes the session; the client's `onclose` then fires (the caller knows it asked). */
  close(): Promise<void>;
}

async function transportOf(target: ServerTarget, env: NodeJS.ProcessEnv): Promise<Transport> {
  if (target.kind === 'url') {
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    return new StreamableHTTPClientTransport(target.url, target.headers ? { requestInit: { headers: { ...target.headers } } } : {});
  }
  const [cmd, ...args] = target.command;
  if (cmd === undefined) throw new CliError('USAGE', 'give the MCP server command after --');
  // The server gets the caller's environment (its API keys, config), as if the host ran it.
  const environment = Object.fromEntries(Object.entries({ ...env, ...target.env }).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  return new StdioClientTransport({ command: cmd, args, env: environment, stderr: 'inherit' });
}

/** Connects the MCP SDK client to a server (spawned, or over Streamable HTTP) and initialises it. */
export async function connectTarget(
  target: ServerTarget,
  options: { clientName?: string; env?: NodeJS.ProcessEnv; capabilities?: ClientCapabilities } = {},
): Promise<ConnectedServer> {
  const transport = await transportOf(target, options.env ?? process.env);
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const client = new Client({ name: options.clientName ?? 'etdi', version: '0.1.0' }, { capabilities: options.capabilities ?? {} });
  try {
    await client.connect(transport);
  } catch (cause) {
    await transport.close().catch(() => undefined);
    const what = target.kind === 'command' ? `start or initialise the MCP server "${describeTarget(target)}"` : `reach or initialise the MCP server at ${describeTarget(target)}`;
    throw new CliError('OPERATIONAL', `cannot ${what}: ${(cause as Error).message}`, { server: describeTarget(target) }, { cause });
  }
  return {
    client,
    close: async () => {
      // Over HTTP the session lives on the server until it is ended (DELETE); a stdio server ends with its process.
      if (target.kind === 'url') await (transport as Transport & { terminateSession(): Promise<void> }).terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

const ToolsPage = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });

/**
 * Every page of the server's `tools/list`, each tool exactly as sent (the SDK's `listTools`
 * re-parses tools and drops fields it does not know, which would change what gets signed).
 * A server that keeps paging past `maxPages`, or hands back a cursor it gave before, is refused
 * rather than cut short: a partial list would be signed or verified as if it were the whole.
 */
export async function fetchToolsList(client: Client, target: ServerTarget, maxPages = 50): Promise<unknown[]> {
  const tools: unknown[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    let result: z.infer<typeof ToolsPage>;
    try {
      result = await client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, ToolsPage);
    } catch (cause) {
      throw new CliError('OPERATIONAL', `the MCP server ${describeTarget(target)} did not answer tools/list: ${(cause as Error).message}`, { server: describeTarget(target) }, { cause });
    }
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
    if (seen.has(cursor)) throw new CliError('OPERATIONAL', `the MCP server ${describeTarget(target)} repeats the tools/list cursor ${JSON.stringify(cursor)} (a paging loop)`, { server: describeTarget(target) });
    seen.add(cursor);
  }
  throw new CliError('OPERATIONAL', `the MCP server ${describeTarget(target)} lists more than ${maxPages} pages of tools; raise --max-pages if that is expected`, { server: describeTarget(target), maxPages });
}
