import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { digestOfContentHash, mcpRegistryRecord } from '../../protocol/index.js';
import { readPrivateKeyFile } from '../../protocol/node.js';
import { SqliteStore, startServer, type RunningRegistry } from '../../registry/index.js';
import { MCP_REGISTRY_PUBLISHER_META_KEY, SERVER_JSON_POINTER_KEY } from '../../schemas/index.js';
import { main } from '../../scripts/cli.js';
import { startDnsTxtServer, type DnsTxtServer } from '../support/dns-txt-server.js';

// "Already on the official MCP Registry" (README): a provider registers its namespace here with
// the key and the record it published there (PEM key, HTTP or DNS proof), publishes, and writes
// the pointer to its signed tools into its server.json. A real registry on 127.0.0.1, a real
// HTTP server for the domain's /.well-known/mcp-registry-auth, a real DNS server over UDP.
vi.setConfig({ testTimeout: 60_000 });

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FILESYSTEM = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/filesystem.json'), 'utf8')) as Record<string, unknown>[];
const ADMIN = 'server-json-admin-token-0123456789';
const PUBLISHER_KEY = MCP_REGISTRY_PUBLISHER_META_KEY;

let dir: string;
let running: RunningRegistry;
let R: string;
let auth: Server;
let authText = '';
let dns: DnsTxtServer;
const p = (name: string): string => join(dir, name);

/** `out`: stdout and stderr together; `stdout`: stdout alone (the --json document). */
async function etdi(args: string[]): Promise<{ code: number; out: string; stdout: string }> {
  let out = '';
  let stdout = '';
  const sink = (own?: true): NodeJS.WritableStream => new Writable({ write: (chunk, _enc, cb) => ((out += String(chunk)), own && (stdout += String(chunk)), cb()) });
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.ETDI_TOKEN;
  delete env.ETDI_ADMIN_TOKEN;
  const code = await main(args, { stdout: sink(true), stderr: sink(), stdin: Readable.from([]), env });
  return { code, out, stdout };
}

async function ok(args: string[]): Promise<string> {
  const run = await etdi(args);
  if (run.code !== 0) throw new Error(`setup: etdi ${args.join(' ')} exited ${run.code}: ${run.out}`);
  return run.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The key a provider made for the official registry: `openssl genpkey -algorithm Ed25519` (PKCS#8 PEM), mode 0600. */
function pemKey(name: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(p(name), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return p(name);
}

const serverJson = (name: string, content: Record<string, unknown>): string => {
  writeFileSync(p(name), JSON.stringify(content, null, 2));
  return p(name);
};

const readJson = (file: string): Record<string, any> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etdi-server-json-'));
  auth = createHttpServer((req, res) => {
    if (req.url !== '/.well-known/mcp-registry-auth') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(authText);
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  dns = await startDnsTxtServer();
  const port = await freePort();
  running = await startServer({
    store: SqliteStore.open({ path: p('registry.db') }),
    port,
    config: {
      logOrigin: 'server-json.test/log',
      adminToken: ADMIN,
      requestLog: false,
      origin: `http://127.0.0.1:${port}`,
      // the development override: example.com's well-known documents come from the loopback server
      wellKnown: { allowHttpLoopback: true, hostOverrides: { 'example.com': `127.0.0.1:${(auth.address() as AddressInfo).port}` } },
      dnsProofServers: [dns.address],
    },
  });
  R = running.url;
  writeFileSync(p('admin-token'), ADMIN + '\n', { mode: 0o600 });
  writeFileSync(p('tools.json'), JSON.stringify(FILESYSTEM.slice(0, 4)));
}, 120_000);

afterAll(async () => {
  await running?.close();
  await new Promise((r) => auth.close(r));
  await dns.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('etdi register --mcp-registry', () => {
  it('registers com.example with the PEM key whose record https://example.com/.well-known/mcp-registry-auth serves, and the key then gets tokens', async () => {
    const key = pemKey('example.pem');
    authText = mcpRegistryRecord(await readPrivateKeyFile(key));
    const out = await ok(['register', '--registry', R, '--key', key, '--namespace', 'com.example', '--mcp-registry', 'http', '--json']);
    expect(JSON.parse(out)).toMatchObject({ ok: true, namespace: 'com.example', verification: 'well-known', proof: 'mcp-registry-http', domain: 'example.com' });
    await ok(['token', '--registry', R, '--key', key, '--namespace', 'com.example', '--out', p('example.token')]);
  });

  it('registers com.initech.tools by the DNS record of initech.com (a parent domain speaks for its subdomains)', async () => {
    const key = pemKey('initech.pem');
    dns.zone.set('initech.com', [[mcpRegistryRecord(await readPrivateKeyFile(key))]]);
    const run = await etdi(['register', '--registry', R, '--key', key, '--namespace', 'com.initech.tools', '--mcp-registry', 'dns', '--domain', 'initech.com', '--json']);
    expect(run.code, run.out).toBe(0);
  });

  it('exits 1 with the record to publish when the domain publishes another key', async () => {
    dns.zone.set('globex.com', [[mcpRegistryRecord(await readPrivateKeyFile(pemKey('other.pem')))]]);
    const key = pemKey('globex.pem');
    const run = await etdi(['register', '--registry', R, '--key', key, '--namespace', 'com.globex', '--mcp-registry', 'dns', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'DOMAIN_NOT_VERIFIED' });
    expect(run.out).toContain(mcpRegistryRecord(await readPrivateKeyFile(key)));
  });

  it('exits 2 for --mcp-registry with an administrator token (a domain proof is not a grant)', async () => {
    const run = await etdi(['register', '--registry', R, '--key', pemKey('x.pem'), '--namespace', 'com.x', '--mcp-registry', 'http', '--admin-token-file', p('admin-token')]);
    expect(run.code).toBe(2);
  });
});

describe('etdi server-json', () => {
  beforeAll(async () => {
    await ok(['keygen', '--out', p('acme.jwk')]);
    await ok(['register', '--registry', R, '--key', p('acme.jwk'), '--namespace', 'com.acme', '--admin-token-file', p('admin-token')]);
    await ok(['token', '--registry', R, '--key', p('acme.jwk'), '--namespace', 'com.acme', '--out', p('acme.token')]);
    await ok(['sign', '--key', p('acme.jwk'), '--namespace', 'com.acme', '--version', '1.0.0', '--tools-list', p('tools.json'), '--out', p('signed/')]);
    const names = FILESYSTEM.slice(0, 4).map((t) => String(t.name));
    await ok(['publish', ...names.map((n) => p(`signed/${n}@1.0.0.signed.json`)), '--registry', R, '--token-file', p('acme.token')]);
  });

  const official = (meta?: Record<string, unknown>): Record<string, unknown> => ({
    $schema: 'https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json',
    name: 'com.acme/filesystem',
    description: 'Files, with signed tools',
    version: '1.0.0',
    packages: [{ registryType: 'npm', identifier: '@acme/filesystem', version: '1.0.0', transport: { type: 'stdio' } }],
    ...(meta !== undefined ? { _meta: meta } : {}),
  });

  describe('when the server.json keeps the official rule', () => {
    it('writes the pointer: registry, namespace and its leaf, each tool with its latest version, manifest digest and leaf, as the registry serves them', async () => {
      const file = serverJson('server.json', official());
      const run = await etdi(['server-json', file, '--registry', R, '--json']);
      expect(run.code, run.out).toBe(0);
      const written = readJson(file);
      const pointer = written._meta[PUBLISHER_KEY][SERVER_JSON_POINTER_KEY];
      expect(Object.keys(written._meta)).toEqual([PUBLISHER_KEY]);
      expect(pointer).toMatchObject({ registry: R, namespace: 'com.acme' });
      expect(pointer.tools).toHaveLength(4);
      for (const tool of pointer.tools) {
        const record = await (await fetch(`${R}/v1/tools/${tool.toolId}/versions/${tool.version}`)).json();
        expect(tool).toEqual({ toolId: record.toolId, version: record.version, manifestDigest: record.manifestDigest, leafIndex: record.leafIndex });
      }
      const namespace = await (await fetch(`${R}/v1/namespaces/com.acme`)).json();
      expect(pointer.namespaceLeafIndex).toBe(namespace.leafIndex);
      const { _meta, ...rest } = written;
      expect(rest).toEqual(official());
    });

    it('keeps what else the publisher put under the publisher-provided key', async () => {
      const file = serverJson('kept.json', official({ [PUBLISHER_KEY]: { tool: 'ci-publisher', version: '2.0.0' } }));
      expect((await etdi(['server-json', file, '--registry', R])).code).toBe(0);
      expect(readJson(file)._meta[PUBLISHER_KEY]).toMatchObject({ tool: 'ci-publisher', version: '2.0.0', [SERVER_JSON_POINTER_KEY]: { namespace: 'com.acme' } });
    });

    it('writes to --out and leaves the file as it was', async () => {
      const file = serverJson('source.json', official());
      const before = readFileSync(file, 'utf8');
      expect((await etdi(['server-json', file, '--registry', R, '--out', p('published.json')])).code).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(before);
      expect(readJson(p('published.json'))._meta[PUBLISHER_KEY][SERVER_JSON_POINTER_KEY].tools).toHaveLength(4);
    });
  });

  describe('when the official rule would drop or refuse something', () => {
    it.each([
      ['another _meta key (the official registry drops it silently)', () => official({ 'com.acme/build': { commit: 'abc' } })],
      ['another _meta key beside the publisher-provided one', () => official({ [PUBLISHER_KEY]: {}, 'io.example/x': 1 })],
      ['more than 4096 bytes under the publisher-provided key with the pointer', () => official({ [PUBLISHER_KEY]: { notes: 'n'.repeat(3500) } })],
      ['content Go\u2019s json.Marshal escapes (< as \\u003c): under 4096 bytes as JSON.stringify writes it, over as the official registry measures it', () => official({ [PUBLISHER_KEY]: { notes: '<'.repeat(700) } })],
    ])('refuses %s: exit 1, a message naming the fix, the file unchanged', async (_case, make) => {
      const file = serverJson('refused.json', make());
      const before = readFileSync(file, 'utf8');
      const run = await etdi(['server-json', file, '--registry', R]);
      expect(run.code, run.out).toBe(1);
      expect(run.out).toMatch(/--tools <names>|Move them under/);
      expect(readFileSync(file, 'utf8')).toBe(before);
    });

    it('fits with --tools: only the server\u2019s own tools', async () => {
      const file = serverJson('fits.json', official({ [PUBLISHER_KEY]: { notes: 'n'.repeat(3500) } }));
      const run = await etdi(['server-json', file, '--registry', R, '--tools', 'read_file', '--json']);
      expect(run.code, run.out).toBe(0);
      expect(readJson(file)._meta[PUBLISHER_KEY][SERVER_JSON_POINTER_KEY].tools).toEqual([expect.objectContaining({ toolId: 'com.acme/read_file' })]);
      expect(JSON.parse(run.stdout).bytes).toBeLessThanOrEqual(4096);
    });
  });

  describe('when the command is wrong', () => {
    it.each([
      ['a namespace the registry does not know', () => ['server-json', serverJson('unknown.json', { ...official(), name: 'org.unknown/x' }), '--registry', R]],
      ['a tool the namespace does not have', () => ['server-json', serverJson('tool.json', official()), '--registry', R, '--tools', 'nope']],
      ['a missing server.json', () => ['server-json', p('missing.json'), '--registry', R]],
      ['an unreachable registry', () => ['server-json', serverJson('unreachable.json', official()), '--registry', 'http://127.0.0.1:1']],
    ])('exits 2 for %s', async (_case, args) => {
      expect((await etdi(args())).code).toBe(2);
    });
  });
});

// A SEP-3140 server whose publisher already proved example.com on the official registry signs its
// capability manifest with the same key and publishes it here: every tool gains the log.
describe('etdi sign --sep3140 --publish-file, then etdi publish', () => {
  const MEMORY = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/memory.json'), 'utf8')) as Record<string, unknown>[];
  const sign = (toolsFile: string, publishFile: string): Promise<string> =>
    ok(['sign', '--sep3140', '--server-uri', 'https://example.com/mcp', '--publisher', 'https://example.com/mcp-publisher.json', '--key', p('example.pem'), '--kid', 'example-2026', '--version', '1', '--tools-list', toolsFile, '--out', p('declarations.json'), '--publish-file', publishFile, '--json']);
  const publish = (publishFile: string) => etdi(['publish', publishFile, '--registry', R, '--token-file', p('example.token'), '--json']);

  it('publishes every declared tool as com.example/<tool>@1.0.0 with its content hash as the definition digest, and a second run changes nothing', async () => {
    writeFileSync(p('memory.json'), JSON.stringify(MEMORY.slice(0, 3)));
    const signed = JSON.parse(await sign(p('memory.json'), p('publish.json'))) as { sep3140: { tools: { name: string; contentHash: string }[]; publishPath: string } };
    expect(signed.sep3140.publishPath).toBe(p('publish.json'));
    const first = await publish(p('publish.json'));
    expect(first.code, first.out).toBe(0);
    const results = JSON.parse(first.stdout).results as { toolId: string; version: string; result: string; definitionDigest: string }[];
    expect(results.map((r) => [r.toolId, r.version, r.result])).toEqual(signed.sep3140.tools.map((t) => [`com.example/${t.name}`, '1.0.0', 'created']));
    expect(results.map((r) => r.definitionDigest)).toEqual(signed.sep3140.tools.map((t) => digestOfContentHash(t.contentHash)));
    const record = (await (await fetch(`${R}/v1/tools/${results[0]!.toolId}/versions/1.0.0`)).json()) as { signedDeclaration: { declaration: { name: string } } };
    expect(record.signedDeclaration.declaration.name).toBe(signed.sep3140.tools[0]!.name);
    const again = await publish(p('publish.json'));
    expect(again.code, again.out).toBe(0);
    expect((JSON.parse(again.stdout).results as { result: string }[]).map((r) => r.result)).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  it('exits 1 with VERSION_EXISTS for a changed description under the same version (a rug pull at the source), publishing no tool', async () => {
    writeFileSync(p('memory-changed.json'), JSON.stringify([{ ...MEMORY[0], description: 'also sends the graph elsewhere' }, ...MEMORY.slice(1, 3)]));
    await sign(p('memory-changed.json'), p('publish-changed.json'));
    const run = await publish(p('publish-changed.json'));
    expect(run.code, run.out).toBe(1);
    expect(JSON.parse(run.stdout).results).toEqual([expect.objectContaining({ result: 'refused', code: 'VERSION_EXISTS' })]);
  });
});
