import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqliteStore, startServer, type RunningRegistry } from '../../registry/index.js';
import { MANIFEST_META_KEY } from '../../schemas/index.js';
import { main } from '../../scripts/cli.js';

// The approver's and the incident responder's verbs against a real registry on 127.0.0.1 (in
// this process), through the same dispatcher the binary runs; `serve` as a real process (dist/).
vi.setConfig({ testTimeout: 90_000 });

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'scripts/dist/cli.js');
const SERVER = join(ROOT, 'test/fixtures/cli/mcp-server.mjs');
const ADMIN = 'approver-incident-admin-token-0123';
const FILESYSTEM = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/filesystem.json'), 'utf8')) as Record<string, unknown>[];

let dir: string;
let running: RunningRegistry;
let R: string;
const p = (name: string): string => join(dir, name);

const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ETDI_REQUEST_LOG: 'off' };
  delete e.ETDI_TOKEN;
  delete e.ETDI_ADMIN_TOKEN;
  return e;
};

async function etdi(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): NodeJS.WritableStream => new Writable({ write: (chunk, _enc, cb) => (append(String(chunk)), cb()) });
  const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), stdin: Readable.from([]), env: env() });
  return { code, stdout, stderr };
}

async function ok(args: string[]): Promise<string> {
  const run = await etdi(args);
  if (run.code !== 0) throw new Error(`etdi ${args.join(' ')} exited ${run.code}: ${run.stdout}${run.stderr}`);
  return run.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function registryOn(path: string, config: Record<string, unknown> = {}): Promise<RunningRegistry> {
  const port = await freePort();
  return startServer({ store: SqliteStore.open({ path }), port, config: { logOrigin: 'approver.test/log', adminToken: ADMIN, requestLog: false, origin: `http://127.0.0.1:${port}`, ...config } });
}

/** Signs `tools` as `version` (permissions for all) and publishes them. */
async function release(version: string, tools: Record<string, unknown>[], permissions: string, key = p('acme.jwk')): Promise<void> {
  writeFileSync(p(`tools-${version}.json`), JSON.stringify(tools));
  await ok(['sign', '--key', key, '--namespace', 'com.acme', '--version', version, '--tools-list', p(`tools-${version}.json`), '--permissions', permissions, '--out', p(`signed-${version}/`)]);
  await ok(['token', '--registry', R, '--key', key, '--namespace', 'com.acme', '--out', p('token')]);
  await ok(['publish', ...tools.map((t) => p(`signed-${version}/${String(t.name)}@${version}.signed.json`)), '--registry', R, '--token-file', p('token')]);
}

const server = (list: string): string[] => ['--', process.execPath, SERVER, p(list)];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etdi-approver-'));
  running = await registryOn(p('registry.db'));
  R = running.url;
  writeFileSync(p('admin-token'), ADMIN + '\n', { mode: 0o600 });
  await ok(['keygen', '--out', p('acme.jwk')]);
  await ok(['register', '--registry', R, '--key', p('acme.jwk'), '--namespace', 'com.acme', '--admin-token-file', p('admin-token')]);
  await release('1.0.0', FILESYSTEM.slice(0, 3), 'files:read');
  // the server lists the three tools without manifests: resolved by --provider and their digest
  writeFileSync(p('server-1.0.0.json'), JSON.stringify(FILESYSTEM.slice(0, 3)));
}, 120_000);

afterAll(async () => {
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('when a flag is mistyped', () => {
  it('suggests the nearest flag, once prefixed, without Node parseArgs advice (exit 2)', async () => {
    const run = await etdi(['approve', '--all', '--registry', R, '--lokfile', p('x.json'), '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('unknown flag --lokfile; did you mean --lockfile?') });
    expect(run.stderr).not.toMatch(/place it at the end|positional/);
    expect(run.stderr.match(/etdi approve:/g)).toHaveLength(1);
    expect(run.stderr).not.toMatch(/USAGE: etdi/);
  });
});

describe('when an approver verifies a server and approves everything it lists', () => {
  it('verify ends with the approve --all command, which runs as printed and pins every tool', async () => {
    const verify = await etdi(['verify', '--registry', R, '--lockfile', p('etdi.lock.json'), '--provider', 'com.acme', ...server('server-1.0.0.json')]);
    expect(verify.code).toBe(1);
    const next = /^\s+(etdi approve --all .*)$/m.exec(verify.stdout);
    expect(next, verify.stdout).not.toBeNull();
    // the printed command, word for word (its words are shell-safe here)
    const words = next![1]!.split(' ').slice(1);
    const approve = await etdi(words);
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    expect(approve.stdout).toMatch(/TOOL\s+TOOL ID\s+VERSION\s+CHANGE\s+PERMISSIONS/);
    expect(approve.stdout.match(/ new /g)).toHaveLength(3);
    const lock = JSON.parse(readFileSync(p('etdi.lock.json'), 'utf8')) as { tools: Record<string, { version: string }> };
    expect(Object.keys(lock.tools).sort()).toEqual(['com.acme/read_file', 'com.acme/read_media_file', 'com.acme/read_text_file']);
    const again = await etdi(['verify', '--registry', R, '--lockfile', p('etdi.lock.json'), '--provider', 'com.acme', ...server('server-1.0.0.json')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/etdi audit --registry/);
    expect(again.stdout).toMatch(/etdi proxy --registry .* --provider com\.acme -- /);
  });

  it('shows an upgrade that asks for more as ESCALATION with what changed, then pins it after one run (exit 0)', async () => {
    await release('1.1.0', FILESYSTEM.slice(0, 1), 'files:read,files:write');
    const before = readFileSync(p('etdi.lock.json'), 'utf8');
    // a verify --json report of a server that now lists 1.1.0 of read_file (by digest: same definition, so carry the manifest)
    const signed = JSON.parse(readFileSync(p('signed-1.1.0/read_file@1.1.0.signed.json'), 'utf8'));
    writeFileSync(p('server-1.1.0.json'), JSON.stringify([{ ...FILESYSTEM[0], _meta: { [MANIFEST_META_KEY]: signed } }, ...FILESYSTEM.slice(1, 3)]));
    const report = await etdi(['verify', '--registry', R, '--lockfile', p('etdi.lock.json'), '--provider', 'com.acme', '--json', ...server('server-1.1.0.json')]);
    expect(report.code).toBe(1);
    writeFileSync(p('report.json'), report.stdout);
    expect(JSON.parse(report.stdout).tools.find((t: { name: string }) => t.name === 'read_file')).toMatchObject({ status: 'needs-approval', code: 'PERMISSION_ESCALATION', version: '1.1.0' });
    expect(readFileSync(p('etdi.lock.json'), 'utf8').replace(/"checkpoint"[\s\S]*?\}/, '')).toBe(before.replace(/"checkpoint"[\s\S]*?\}/, ''));

    const human = await etdi(['approve', '--all', '--registry', R, '--lockfile', p('etdi.lock.json'), '--report', p('report.json')]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/read_file\s+com\.acme\/read_file\s+1\.1\.0\s+ESCALATION from 1\.0\.0 \(\+files:write\)/);
    expect(human.stdout).toMatch(/\+ permission files:write/);
    expect(human.stdout).toMatch(/already approved: read_media_file, read_text_file/);
    const lock = JSON.parse(readFileSync(p('etdi.lock.json'), 'utf8')) as { tools: Record<string, { version: string }> };
    expect(lock.tools['com.acme/read_file']!.version).toBe('1.1.0');
  });

  it('never pins a rejected tool: it is listed with its code, the others are pinned, exit 1', async () => {
    await ok(['revoke', 'com.acme/read_text_file@1.0.0', '--registry', R, '--reason', 'bad', '--key', p('acme.jwk')]);
    const run = await etdi(['approve', '--all', '--registry', R, '--lockfile', p('fresh.lock.json'), '--provider', 'com.acme', '--json', ...server('server-1.0.0.json')]);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout);
    expect(result.skipped).toEqual([expect.objectContaining({ name: 'read_text_file', code: 'REVOKED' })]);
    expect(result.approved.map((a: { toolId: string }) => a.toolId).sort()).toEqual(['com.acme/read_file', 'com.acme/read_media_file']);
    const lock = JSON.parse(readFileSync(p('fresh.lock.json'), 'utf8')) as { tools: Record<string, unknown> };
    expect(Object.keys(lock.tools)).not.toContain('com.acme/read_text_file');
  });

  it.each([
    ['a tool id with --all', ['com.acme/read_file', '--all']],
    ['--all with both a server and a report', ['--all', '--report', 'r.json', '--', 'node', 'x']],
    ['--all with neither a server nor a report', ['--all']],
    ['--permissions with --all', ['--all', '--permissions', 'files:read', '--report', 'r.json']],
  ])('refuses %s (exit 2)', async (_name, args) => {
    const run = await etdi(['approve', '--registry', R, '--lockfile', p('etdi.lock.json'), '--json', ...args]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).error.code).toBe('USAGE');
  });
});

describe('when a key is compromised', () => {
  it('keys revoke --from an earlier time makes what it signed since refused (KEY_REVOKED), while a new key publishes', async () => {
    await ok(['keygen', '--out', p('acme-2.jwk')]);
    await ok(['keys', 'add', '--registry', R, '--namespace', 'com.acme', '--key', p('acme.jwk'), '--new-key', p('acme-2.jwk')]);
    const from = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    const args = ['keys', 'revoke', p('acme.jwk'), '--registry', R, '--namespace', 'com.acme', '--reason', 'laptop stolen', '--from', from, '--json'];
    // the key added a minute ago cannot reach back before it existed on its own word (issue 17)
    const alone = await etdi([...args, '--key', p('acme-2.jwk')]);
    expect([alone.code, JSON.parse(alone.stdout).error.code]).toEqual([1, 'REVOCATION_NEEDS_ADMIN']);
    // the administrator can
    const revoked = JSON.parse(await ok([...args, '--admin-token-file', p('admin-token')]));
    expect(revoked.key).toMatchObject({ status: 'revoked', revokedFrom: from, reason: 'laptop stolen' });
    const audit = await etdi(['audit', '--registry', R, '--lockfile', p('etdi.lock.json'), '--json']);
    expect(audit.code).toBe(1);
    expect(JSON.parse(audit.stdout).findings.map((f: { code: string }) => f.code)).toContain('KEY_REVOKED');
    // the new key is active and publishes the fix
    await release('1.2.0', FILESYSTEM.slice(0, 1), 'files:read', p('acme-2.jwk'));
    const list = JSON.parse(await ok(['keys', 'list', '--registry', R, '--namespace', 'com.acme', '--json']));
    expect(list.keys.map((k: { status: string }) => k.status).sort()).toEqual(['active', 'revoked']);
  });

  it.each([
    ['a time without a zone', '2026-12-01T00:00:00'],
    ['not a time', 'yesterday'],
  ])('refuses --from with %s (exit 2)', async (_name, from) => {
    const run = await etdi(['keys', 'revoke', 'some-key-id', '--registry', R, '--namespace', 'com.acme', '--reason', 'x', '--from', from, '--key', p('acme-2.jwk'), '--json']);
    expect(run.code).toBe(2);
  });
});

describe('when the registry is busy (429)', () => {
  it('is an operational error (exit 2), never a refusal: publish, revoke and keys list', async () => {
    const busy = await registryOn(p('busy.db'), { rateLimit: { capacity: 1, refillPerSecond: 0.001 } });
    try {
      await fetch(`${busy.url}/v1/tools`); // the one request of the bucket
      const publish = await etdi(['publish', p('signed-1.0.0/read_file@1.0.0.signed.json'), '--registry', busy.url, '--token-file', p('token'), '--json']);
      expect(publish.code).toBe(2);
      expect(JSON.parse(publish.stdout).results[0]).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      const revoke = await etdi(['revoke', 'com.acme/read_file@1.0.0', '--registry', busy.url, '--reason', 'x', '--token-file', p('token'), '--json']);
      expect([revoke.code, JSON.parse(revoke.stdout).error.code]).toEqual([2, 'RATE_LIMITED']);
      const keys = await etdi(['keys', 'list', '--registry', busy.url, '--namespace', 'com.acme', '--json']);
      expect(keys.code).toBe(2);
    } finally {
      await busy.close();
    }
  });
});

describe('etdi serve --demo on a data directory', () => {
  function serve(data: string, port: number): { exited: Promise<number>; output: () => string; stop(): void; pid: number } {
    const child = spawn(process.execPath, [CLI, 'serve', '--demo', '--data', data, '--port', String(port)], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return { exited: new Promise((r) => child.on('close', (c) => r(c ?? -1))), output: () => output, stop: () => child.kill('SIGTERM'), pid: child.pid! };
  }

  it('is locked while one runs (a second exits 2 naming its pid); a restart says what it found and reuses its admin token', async () => {
    const data = p('demo-data');
    const first = serve(data, await freePort());
    await vi.waitUntil(() => /--admin-token-file/.test(first.output()), { timeout: 60_000, interval: 100 });
    expect(first.output()).toMatch(/demo: \d+ tools published now/);
    const token = readFileSync(join(data, 'admin-token'), 'utf8');
    expect(statSync(join(data, 'admin-token')).mode & 0o777).toBe(0o600);

    const second = serve(data, await freePort());
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain(`pid ${first.pid}`);

    first.stop();
    expect(await first.exited).toBe(0);
    const restarted = serve(data, await freePort());
    await vi.waitUntil(() => /--admin-token-file/.test(restarted.output()), { timeout: 60_000, interval: 100 });
    expect(restarted.output()).toMatch(/demo: \d+ tools already published in .*, nothing to do/);
    expect(readFileSync(join(data, 'admin-token'), 'utf8')).toBe(token);
    restarted.stop();
    expect(await restarted.exited).toBe(0);
  });
});
