import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MANIFEST_META_KEY, type SignedManifest } from '../../schemas/index.js';
import { startRegistry, type RunningRegistry } from '../verifier/support/real-registry.js';
import { buildServer, listedDefinitions, type ToolSpec } from '../verifier/support/mcp-servers.js';
import { etdi as etdiBinary, type Run } from '../support/processes.js';
import { cliEnv, etdiInProcess } from '../support/cli-in-process.js';

// `etdi scan` and `etdi protect` on real host configuration files (Claude Desktop, VS Code, Cursor)
// written here, naming real MCP server processes (test/fixtures/cli/silent-server.mjs) and an
// McpServer over Streamable HTTP on 127.0.0.1; the registry is the project's real one.
vi.setConfig({ testTimeout: 60_000 });

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'scripts/dist/cli.js');
const SERVER = join(ROOT, 'test/fixtures/cli/silent-server.mjs');
const REAL_TOOLS = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/filesystem.json'), 'utf8')) as Record<string, unknown>[];
const ACME = 'com.acme';

let dir: string;
let reg: RunningRegistry;
let lockfile: string;
let http: HttpServer;
let remoteUrl: string;
/** TOOLS_FILE of the "files" server: read_file (approved) and list_directory (not), both signed. */
let filesTools: string;
/** TOOLS_FILE of the "plain" server: one unsigned tool. */
let plainTools: string;

const env = (): Record<string, string> => cliEnv();
const carried = (s: SignedManifest): Record<string, unknown> => ({ ...s.manifest.definition, _meta: { [MANIFEST_META_KEY]: s } });
function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const etdi = (args: string[]): ReturnType<typeof etdiInProcess> => etdiInProcess(args);

/** The built CLI as its own process (protect writes this etdi's own path into the file). */
const etdiProcess = (args: string[]): Promise<Run> => etdiBinary(args, dir);

const claudeConfig = (): string =>
  JSON.stringify(
    {
      mcpServers: {
        files: { command: process.execPath, args: [SERVER], env: { TOOLS_FILE: filesTools } },
        plain: { command: process.execPath, args: [SERVER], env: { TOOLS_FILE: plainTools } },
      },
      globalShortcut: 'Ctrl+Space',
    },
    null,
    2,
  ) + '\n';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etdi-host-'));
  lockfile = join(dir, 'etdi.lock.json');
  reg = await startRegistry();
  const { key, token } = await reg.register(ACME);
  const signed = new Map<string, SignedManifest>();
  for (const def of REAL_TOOLS.filter((t) => t.name === 'read_file' || t.name === 'list_directory'))
    signed.set(def.name as string, await reg.publish(token, key, ACME, def, '1.0.0', ['files:read']));
  filesTools = write('files-tools.json', JSON.stringify([carried(signed.get('read_file')!), carried(signed.get('list_directory')!)]));
  plainTools = write('plain-tools.json', JSON.stringify(REAL_TOOLS.filter((t) => t.name === 'write_file')));
  // A remote server: an McpServer over stateless Streamable HTTP, its tool signed and approved.
  const specs: ToolSpec[] = [{ name: 'search_docs', description: 'Search the documentation', permissions: ['docs:read'] }];
  const docs = await reg.register('com.docs');
  const metas = new Map<string, Record<string, unknown>>();
  for (const def of await listedDefinitions(specs)) metas.set(def.name as string, { [MANIFEST_META_KEY]: await reg.publish(docs.token, docs.key, 'com.docs', def, '1.0.0', ['docs:read']) });
  http = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const { server } = buildServer(specs, metas);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void server.close());
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  remoteUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  for (const ref of [`${ACME}/read_file@1.0.0`, 'com.docs/search_docs@1.0.0']) {
    const approved = await etdi(['approve', ref, '--registry', reg.url, '--lockfile', lockfile, '--yes']);
    expect(approved.code, approved.stderr).toBe(0);
  }
}, 90_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await reg?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('etdi scan', () => {
  it('reports every server and tool of a Claude Desktop configuration (exit 1: findings), as a table, JSON and SARIF', async () => {
    const config = write('claude_desktop_config.json', claudeConfig());
    const args = ['scan', config, '--registry', reg.url, '--lockfile', lockfile];
    const table = await etdi(args);
    expect(table.code, table.stderr).toBe(1);
    expect(table.stdout).toMatch(/^SERVER\s+TOOL\s+DECISION/m);
    expect(table.stdout).toMatch(/^files\s+read_file\s+approved\s+com\.acme\/read_file\s+1\.0\.0$/m);
    expect(table.stdout).toMatch(/^files\s+list_directory\s+needs approval \(NEEDS_APPROVAL\)/m);
    expect(table.stdout).toMatch(/^plain\s+write_file\s+REJECTED UNSIGNED/m);

    const json = await etdi([...args, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; servers: { name: string; status: string; tools: { name: string; status: string; code?: string }[] }[] };
    expect(report.ok).toBe(false);
    expect(report.servers.map((s) => [s.name, s.status, s.tools.map((t) => `${t.name}:${t.status}${t.code ? `:${t.code}` : ''}`)])).toEqual([
      ['files', 'findings', ['list_directory:needs-approval:NEEDS_APPROVAL', 'read_file:approved']],
      ['plain', 'findings', ['write_file:rejected:UNSIGNED']],
    ]);

    const sarif = await etdi([...args, '--sarif']);
    expect(sarif.code).toBe(1);
    const doc = JSON.parse(sarif.stdout) as { version: string; runs: { results: { ruleId: string; level: string; properties: { server: string; tool: string } }[] }[] };
    expect(doc.version).toBe('2.1.0');
    expect(doc.runs[0]!.results.map((r) => [r.ruleId, r.level, r.properties.server, r.properties.tool])).toEqual([
      ['NEEDS_APPROVAL', 'warning', 'files', 'list_directory'],
      ['UNSIGNED', 'error', 'plain', 'write_file'],
    ]);
  });

  it('reads a VS Code mcp.json (comments, "servers", type stdio/http/sse) and a Cursor one with a remote server', async () => {
    const vscode = write(
      'mcp.json',
      `{
  // VS Code: JSON with comments
  "servers": {
    "docs": { "type": "http", "url": "${remoteUrl}" },
    "legacy": { "type": "sse", "url": "http://127.0.0.1:1/sse" },
    "files": { "type": "stdio", "command": ${JSON.stringify(process.execPath)}, "args": [${JSON.stringify(SERVER)}], "env": { "TOOLS_FILE": ${JSON.stringify(filesTools)} } },
  },
}
`,
    );
    const run = await etdi(['scan', vscode, '--registry', reg.url, '--lockfile', lockfile, '--json']);
    const report = JSON.parse(run.stdout) as { servers: { name: string; transport: string; status: string; error?: { code: string }; tools: { name: string; status: string }[] }[] };
    expect(report.servers.map((s) => [s.name, s.transport, s.status, s.error?.code ?? '', s.tools.map((t) => `${t.name}:${t.status}`)])).toEqual([
      ['docs', 'http', 'ok', '', ['search_docs:approved']],
      ['legacy', 'sse', 'skipped', 'TRANSPORT_UNSUPPORTED', []],
      ['files', 'stdio', 'findings', '', ['list_directory:needs-approval', 'read_file:approved']],
    ]);
    expect(run.code).toBe(1);

    const cursor = write('cursor-mcp.json', JSON.stringify({ mcpServers: { docs: { url: remoteUrl } } }));
    const clean = await etdi(['scan', cursor, '--registry', reg.url, '--lockfile', lockfile]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
  });

  it.each([
    ['a server that cannot start (exit 2, the others still reported)', JSON.stringify({ mcpServers: { broken: { command: join(dir ?? '', 'no-such-server') } } }), 2, /broken\s+FAILED \(SERVER_FAILED\)/],
    ['a file that is no host configuration (exit 2)', JSON.stringify({ servers: [1, 2] }), 2, /not an MCP host configuration: expected "mcpServers"/],
    ['a file that is not JSON (exit 2, with the line)', '{\n  "mcpServers": {\n    "x": \n}', 2, /not JSON \(with comments\): .* at line 4/],
  ])('%s', async (_name, text, code, message) => {
    const run = await etdi(['scan', write('bad-config.json', text), '--registry', reg.url, '--lockfile', lockfile]);
    expect(run.code).toBe(code);
    expect(run.stdout + run.stderr).toMatch(message);
  });
});

describe('etdi protect', () => {
  it('puts each stdio server behind etdi proxy (backup kept, env kept), is idempotent, and the host then sees only verified tools; --undo restores the file byte for byte', async () => {
    const original = claudeConfig();
    const config = write('protect-claude.json', original);
    const audit = join(dir, 'protected-audit.jsonl');
    const first = await etdiProcess(['protect', config, '--registry', reg.url, '--lockfile', lockfile, '--audit-log', audit, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, servers: [{ name: 'files', action: 'protected' }, { name: 'plain', action: 'protected' }] });
    expect(readFileSync(`${config}.etdi-backup`, 'utf8')).toBe(original);
    const protectedText = readFileSync(config, 'utf8');
    const entry = (JSON.parse(protectedText) as { mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }> }).mcpServers.files!;
    expect(entry.command).toBe(process.execPath);
    expect(entry.args).toEqual([CLI, 'proxy', '--registry', reg.url, '--lockfile', lockfile, '--audit-log', audit, '--', process.execPath, SERVER]);
    expect(entry.env).toEqual({ TOOLS_FILE: filesTools });
    expect(JSON.parse(protectedText).globalShortcut).toBe('Ctrl+Space');

    // Idempotent: nothing to do, nothing written.
    const again = await etdiProcess(['protect', config, '--registry', reg.url, '--lockfile', lockfile]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged/);
    expect(readFileSync(config, 'utf8')).toBe(protectedText);

    // The host starts the server exactly as the file now says: through the proxy.
    const host = new Client({ name: 'claude-desktop', version: '1.0.0' });
    await host.connect(new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...env(), ...entry.env }, stderr: 'ignore' }));
    try {
      expect((await host.listTools()).tools.map((t) => t.name)).toEqual(['read_file']);
    } finally {
      await host.close();
    }
    // scan sees through the proxy to the server itself.
    const scanned = JSON.parse((await etdi(['scan', config, '--registry', reg.url, '--lockfile', lockfile, '--json'])).stdout) as { servers: { name: string; proxied: boolean; tools: unknown[] }[] };
    expect(scanned.servers.map((s) => [s.name, s.proxied, s.tools.length])).toEqual([
      ['files', true, 2],
      ['plain', true, 1],
    ]);

    const undo = await etdiProcess(['protect', config, '--undo']);
    expect(undo.code, undo.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe(original);
    expect(existsSync(`${config}.etdi-backup`)).toBe(false);
  });

  it('keeps the comments and layout of a VS Code mcp.json and leaves remote servers as they are', async () => {
    const config = write(
      'protect-mcp.json',
      `{
  // servers of this workspace
  "servers": {
    "docs": { "type": "http", "url": "${remoteUrl}" }, // remote: left as is
    "files": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
    }
  }
}
`,
    );
    const run = await etdiProcess(['protect', config, '--registry', reg.url, '--lockfile', lockfile, '--etdi', 'etdi', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).servers).toEqual([
      { name: 'docs', action: 'left as is (remote server)' },
      { name: 'files', action: 'protected' },
    ]);
    const text = readFileSync(config, 'utf8');
    expect(text).toContain('// servers of this workspace');
    expect(text).toContain('// remote: left as is');
    expect(text).toMatch(/"command": "etdi"/);
    expect(text).toContain(`"--lockfile",\n        ${JSON.stringify(lockfile)},\n        "--",\n        "npx",\n        "-y",`);
  });

  it('--undo refuses (exit 1) when the file was edited since, naming the server, and changes nothing', async () => {
    const config = write('protect-edited.json', claudeConfig());
    expect((await etdiProcess(['protect', config, '--registry', reg.url, '--lockfile', lockfile])).code).toBe(0);
    const edited = JSON.parse(readFileSync(config, 'utf8')) as { mcpServers: Record<string, unknown> };
    edited.mcpServers.added = { command: 'my-new-server' };
    writeFileSync(config, JSON.stringify(edited, null, 2));
    const before = readFileSync(config, 'utf8');
    const undo = await etdi(['protect', config, '--undo']);
    expect(undo.code).toBe(1);
    expect(undo.stderr).toMatch(/was edited since etdi protect \("added" differ/);
    expect(readFileSync(config, 'utf8')).toBe(before);
    expect(existsSync(`${config}.etdi-backup`)).toBe(true);
  });
});
