/**
 * The cost of `etdi proxy` per tools/call, side by side in one run (issue 18):
 * - direct: the SDK client over stdio to the server;
 * - bare relay: the same through bench/support/stdio-relay (one more process forwarding bytes,
 *   no check: the floor of any stdio proxy);
 * - etdi proxy with its default re-list interval (5 s), verifying against a real registry.
 * The server lists server-everything's 13 real tools, each carrying its signed manifest; the
 * call is `echo`, approved in the lockfile. Rounds of 20 calls alternate the three paths so that the
 * machine's noise falls on all of them. Check: proxy median <= 1.25x the bare relay's.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { generateKeyPair, registrationRequest, signManifest, tokenRequest } from '@etdi/protocol';
import { MANIFEST_META_KEY, MANIFEST_TYPE, type ToolManifest } from '@etdi/schemas';
import { percentile, type BenchReport } from './report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'scripts/dist/cli.js');
const SERVER = fileURLToPath(new URL('./support/echo-server.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./support/stdio-relay.js', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789';
const ORIGIN = 'https://bench.registry';
const NAMESPACE = 'io.github.modelcontextprotocol';
const ROUNDS = 150;
const CALLS_PER_ROUND = 20;

async function post(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function connect(command: string[], env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'bench-host', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: command[0]!, args: command.slice(1), env, stderr: 'ignore' }));
  return client;
}

const echo = (client: Client, i: number): Promise<unknown> => client.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: `hello ${i}` } } }, CallToolResultSchema);

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-bench-proxy-'));
  const { SqliteStore, createApp } = await import('@etdi/registry');
  const store = SqliteStore.open({ path: join(dir, 'registry.db') });
  const app = await createApp({ store, config: { origin: ORIGIN, logOrigin: 'bench.registry/log', adminToken: ADMIN, rateLimit: false, requestLog: false, errorLog: () => undefined } });
  const http = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: Client[] = [];
  try {
    // Publish server-everything's tools as their provider would, and approve echo as a user would.
    const key = generateKeyPair();
    const now = (): string => new Date().toISOString();
    await post(`${url}/v1/namespaces`, await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace: NAMESPACE, issuedAt: now() }, 'admin-grant'), ADMIN);
    const token = (await post(`${url}/v1/tokens`, await tokenRequest(key.privateJwk, { registry: ORIGIN, namespace: NAMESPACE, issuedAt: now() }))).access_token as string;
    const definitions = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/everything.json'), 'utf8')) as Record<string, unknown>[];
    const tools: Record<string, unknown>[] = [];
    for (const definition of definitions) {
      const manifest: ToolManifest = {
        type: MANIFEST_TYPE,
        toolId: `${NAMESPACE}/${definition.name as string}`,
        version: '2026.8.31',
        provider: NAMESPACE,
        definition: definition as ToolManifest['definition'],
        permissions: [],
        issuedAt: new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      const signed = await signManifest(manifest, [key.privateJwk]);
      await post(`${url}/v1/tools`, signed, token);
      tools.push({ ...definition, _meta: { [MANIFEST_META_KEY]: signed } });
    }
    const toolsFile = join(dir, 'tools.json');
    writeFileSync(toolsFile, JSON.stringify(tools));
    const lockfile = join(dir, 'etdi.lock.json');
    // The registry answers from this process: the approval runs as a child without blocking it.
    await promisify(execFile)(process.execPath, [CLI, 'approve', `${NAMESPACE}/echo@2026.8.31`, '--registry', url, '--lockfile', lockfile, '--yes']);
    const env = { ...(process.env as Record<string, string>), TOOLS_FILE: toolsFile };
    const server = [process.execPath, SERVER];
    const paths: [string, string[]][] = [
      ['direct', server],
      ['bare stdio relay', [process.execPath, RELAY, ...server]],
      ['etdi proxy (re-list interval 5 s)', [process.execPath, CLI, 'proxy', '--registry', url, '--lockfile', lockfile, '--', ...server]],
    ];
    for (const [, command] of paths) clients.push(await connect(command, env));
    // Warm up each path (JIT, the proxy's first listing and the pins' caches).
    for (const c of clients) for (let i = 0; i < 300; i++) await echo(c, i);
    const times: number[][] = paths.map(() => []);
    for (let round = 0; round < ROUNDS; round++)
      for (const [p, c] of clients.entries())
        for (let i = 0; i < CALLS_PER_ROUND; i++) {
          const t = performance.now();
          await echo(c, i);
          times[p]!.push(performance.now() - t);
        }
    for (const t of times) t.sort((a, b) => a - b);
    const [direct, relay, proxy] = times.map((t) => percentile(t, 50)) as [number, number, number];
    const p99 = times.map((t) => percentile(t, 99));
    const ratio = proxy / relay;
    return {
      title: `tools/call echo over stdio: direct, bare relay, etdi proxy (server-everything's 13 tools, ${ROUNDS}x${CALLS_PER_ROUND} calls each)`,
      rows: [
        { name: 'direct, median', value: direct * 1000, unit: 'µs', note: `p99 ${(p99[0]! * 1000).toFixed(0)} µs` },
        { name: 'through a bare stdio relay (no check), median', value: relay * 1000, unit: 'µs', note: `p99 ${(p99[1]! * 1000).toFixed(0)} µs` },
        { name: 'through etdi proxy, default re-list interval, median', value: proxy * 1000, unit: 'µs', note: `p99 ${(p99[2]! * 1000).toFixed(0)} µs` },
        { name: 'etdi proxy / bare relay', value: ratio, unit: 'x' },
        { name: 'etdi proxy / direct', value: proxy / direct, unit: 'x' },
        { name: 'bare relay / direct', value: relay / direct, unit: 'x' },
      ],
      checks: [{ name: 'etdi proxy <= 1.25x a bare stdio relay per tools/call (#18)', ok: ratio <= 1.25, detail: `${ratio.toFixed(2)}x (${(proxy * 1000).toFixed(0)} vs ${(relay * 1000).toFixed(0)} µs)` }],
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
