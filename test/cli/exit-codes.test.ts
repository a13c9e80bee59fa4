import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lockDataDir, SqliteStore, startServer, type RunningRegistry } from '../../registry/index.js';
import { MANIFEST_META_KEY } from '../../schemas/index.js';
import { COMMANDS, main } from '../../scripts/cli.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';

// docs/CLI.md's "Exit codes of each verb" table, checked against the code: every verb is in the
// table, its --help names the same codes, and every code the table gives a verb is produced by
// running that verb into that case (a real registry on 127.0.0.1, real key files, a real MCP
// server process). A code documented without a case here fails the test: add the case.
vi.setConfig({ testTimeout: 60_000 });

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'scripts/dist/cli.js');
const SERVER = join(ROOT, 'test/fixtures/cli/mcp-server.mjs');
const ADMIN = 'exit-codes-admin-token-0123456789';
const FILESYSTEM = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/filesystem.json'), 'utf8')) as Record<string, unknown>[];

/** verb -> documented codes, from the markdown table. */
function documentedExitCodes(markdown: string): Map<string, number[]> {
  const start = markdown.indexOf('### Exit codes of each verb');
  if (start === -1) throw new Error('docs/CLI.md has no "Exit codes of each verb" table');
  const rows = new Map<string, number[]>();
  for (const line of markdown.slice(start).split('\n')) {
    const cells = /^\|\s*`([a-z-]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (cells === null) {
      if (rows.size > 0 && !line.startsWith('|')) break;
      continue;
    }
    const meanings = cells[2]!.split('|').map((c) => c.trim());
    rows.set(cells[1]!, [0, 1, 2].filter((code) => meanings[code] !== undefined && meanings[code] !== '-'));
  }
  return rows;
}

/** The codes a verb's --help names after "Exit codes:". */
function helpExitCodes(help: string): number[] {
  const text = help.slice(help.indexOf('Exit codes:')).replace(/\s+/g, ' ');
  return [...new Set([...text.matchAll(/(?:Exit codes:|,)\s+([0-2])\s/g)].map((m) => Number(m[1])))].sort();
}

const TABLE = documentedExitCodes(readFileSync(join(ROOT, 'docs/CLI.md'), 'utf8'));

let dir: string;
let running: RunningRegistry;
let R: string;
/** PostgreSQL databases the migrate cases created. */
const databases: TestDatabase[] = [];
const p = (name: string): string => join(dir, name);

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ETDI_REQUEST_LOG: 'off' };
  delete env.ETDI_TOKEN;
  delete env.ETDI_ADMIN_TOKEN;
  return env;
};

/** The dispatcher the binary runs, in this process (not a TTY: approve does not ask). */
async function etdi(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = (): NodeJS.WritableStream => new Writable({ write: (chunk, _enc, cb) => ((out += String(chunk)), cb()) });
  const code = await main(args, { stdout: sink(), stderr: sink(), stdin: Readable.from([]), env: baseEnv() });
  return { code, out };
}

async function ok(args: string[]): Promise<void> {
  const run = await etdi(args);
  if (run.code !== 0) throw new Error(`setup: etdi ${args.join(' ')} exited ${run.code}: ${run.out}`);
}

function spawnCli(args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): { exited: Promise<number>; kill(): void; output(): string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: baseEnv(), stdio: [stdin, 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { exited: new Promise((r) => child.on('close', (c) => r(c ?? -1))), kill: () => child.kill('SIGTERM'), output: () => output };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const signed = (tool: string, version: string): string => p(`signed-${version}/${tool}@${version}.signed.json`);

/** A tool as a server lists it, carrying its signed manifest. */
function carried(file: string, out: string): string {
  const s = JSON.parse(readFileSync(file, 'utf8')) as { manifest: { definition: Record<string, unknown> } };
  writeFileSync(out, JSON.stringify({ ...s.manifest.definition, _meta: { [MANIFEST_META_KEY]: s } }));
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etdi-exit-'));
  const port = await freePort();
  running = await startServer({ store: SqliteStore.open({ path: p('registry.db') }), port, config: { logOrigin: 'exit-codes.test/log', adminToken: ADMIN, requestLog: false, origin: `http://127.0.0.1:${port}` } });
  R = running.url;
  writeFileSync(p('admin-token'), ADMIN + '\n', { mode: 0o600 });
  writeFileSync(p('tools.json'), JSON.stringify(FILESYSTEM.slice(0, 4)));
  writeFileSync(p('read_file.json'), JSON.stringify(FILESYSTEM[0]));
  await ok(['keygen', '--out', p('acme.jwk')]);
  await ok(['keygen', '--out', p('zeta.jwk')]);
  await ok(['register', '--registry', R, '--key', p('acme.jwk'), '--namespace', 'com.acme', '--admin-token-file', p('admin-token')]);
  await ok(['token', '--registry', R, '--key', p('acme.jwk'), '--namespace', 'com.acme', '--out', p('token')]);
  await ok(['sign', '--key', p('acme.jwk'), '--namespace', 'com.acme', '--version', '1.0.0', '--tools-list', p('tools.json'), '--permissions', 'files:read', '--out', p('signed-1.0.0/')]);
  // read_file 1.1.0 asks for more: an escalation for diff and audit
  await ok(['sign', '--key', p('acme.jwk'), '--namespace', 'com.acme', '--version', '1.1.0', '--definition', p('read_file.json'), '--permissions', 'files:read,files:write', '--out', p('signed-1.1.0/')]);
  await ok(['publish', signed('read_file', '1.0.0'), signed('read_text_file', '1.0.0'), signed('read_media_file', '1.0.0'), signed('read_multiple_files', '1.0.0'), signed('read_file', '1.1.0'), '--registry', R, '--token-file', p('token')]);
  await ok(['revoke', 'com.acme/read_media_file@1.0.0', '--registry', R, '--reason', 'test', '--key', p('acme.jwk')]);
  // a tool signed 1.0.0 again with other content: VERSION_EXISTS
  await ok(['sign', '--key', p('acme.jwk'), '--namespace', 'com.acme', '--version', '1.0.0', '--definition', p('read_file.json'), '--permissions', 'files:admin', '--out', p('conflict.json')]);
  await ok(['approve', 'com.acme/read_file@1.0.0', '--registry', R, '--lockfile', p('escalated.lock.json')]);
  await ok(['approve', 'com.acme/read_text_file@1.0.0', '--registry', R, '--lockfile', p('clean.lock.json')]);
  carried(signed('read_file', '1.0.0'), p('read_file.carried.json'));
  carried(signed('read_text_file', '1.0.0'), p('read_text_file.carried.json'));
  writeFileSync(p('server-list.json'), JSON.stringify([JSON.parse(readFileSync(p('read_file.carried.json'), 'utf8'))]));
  // a database whose stored manifest was rewritten after logging: fsck problems
  const { default: Sqlite } = await import('better-sqlite3');
  const source = new Sqlite(p('registry.db'), { readonly: true });
  await source.backup(p('tampered.db'));
  source.close();
  const db = new Sqlite(p('tampered.db'));
  db.prepare(`UPDATE versions SET signed_manifest = replace(signed_manifest, '"description":"', '"description":"Also uploads your files. ')`).run();
  db.close();
}, 120_000);

afterAll(async () => {
  await running?.close();
  await Promise.all(databases.map((d) => d.drop()));
  rmSync(dir, { recursive: true, force: true });
});

/** A Claude Desktop configuration with one stdio server listing the tools of `listFile` (a JSON array). */
function hostConfig(name: string, toolFile: string): string {
  const list = p(`${name}.tools.json`);
  writeFileSync(list, JSON.stringify([JSON.parse(readFileSync(p(toolFile), 'utf8'))]));
  writeFileSync(p(name), JSON.stringify({ mcpServers: { 'etdi-readme': { command: process.execPath, args: [SERVER, list] } } }, null, 2));
  return p(name);
}

type Case = () => Promise<number>;
const run = (args: () => string[]): Case => async () => (await etdi(args())).code;
const UNREACHABLE = 'http://127.0.0.1:1';

/** One case per verb and documented code: what makes that verb exit with it. */
const CASES: Record<string, Partial<Record<0 | 1 | 2, [string, Case]>>> = {
  keygen: {
    0: ['a new key file', run(() => ['keygen', '--out', p('new.jwk')])],
    2: ['the file exists (no --force)', run(() => ['keygen', '--out', p('acme.jwk')])],
  },
  register: {
    0: ['an admin grant', run(() => ['register', '--registry', R, '--key', p('zeta.jwk'), '--namespace', 'com.zeta', '--admin-token-file', p('admin-token')])],
    1: ['a namespace that exists', run(() => ['register', '--registry', R, '--key', p('zeta.jwk'), '--namespace', 'com.acme', '--admin-token-file', p('admin-token')])],
    2: ['an unreachable registry', run(() => ['register', '--registry', UNREACHABLE, '--key', p('zeta.jwk'), '--namespace', 'com.x'])],
  },
  token: {
    0: ['an active key', run(() => ['token', '--registry', R, '--key', p('acme.jwk'), '--namespace', 'com.acme', '--json'])],
    1: ['a key that is not the namespace\u2019s', run(() => ['token', '--registry', R, '--key', p('zeta.jwk'), '--namespace', 'com.acme', '--json'])],
    2: ['no --key', run(() => ['token', '--registry', R, '--namespace', 'com.acme'])],
  },
  sign: {
    0: ['a tools list', run(() => ['sign', '--key', p('acme.jwk'), '--namespace', 'com.acme', '--version', '2.0.0', '--tools-list', p('tools.json'), '--out', p('signed-2.0.0/')])],
    2: ['a version that is not semver', run(() => ['sign', '--key', p('acme.jwk'), '--namespace', 'com.acme', '--version', 'v2', '--tools-list', p('tools.json')])],
  },
  publish: {
    0: ['the same manifests again (unchanged)', run(() => ['publish', signed('read_file', '1.0.0'), '--registry', R, '--token-file', p('token')])],
    1: ['another content under a published version (VERSION_EXISTS)', run(() => ['publish', p('conflict.json'), '--registry', R, '--token-file', p('token')])],
    2: ['no token', run(() => ['publish', signed('read_file', '1.0.0'), '--registry', R])],
  },
  verify: {
    0: ['an approved tool', run(() => ['verify', '--registry', R, '--lockfile', p('escalated.lock.json'), '--definition', p('read_file.carried.json')])],
    1: ['a tool that needs approval', run(() => ['verify', '--registry', R, '--lockfile', p('escalated.lock.json'), '--definition', p('read_text_file.carried.json')])],
    2: ['an unreachable registry', run(() => ['verify', '--registry', UNREACHABLE, '--lockfile', p('none.lock.json'), '--definition', p('read_file.carried.json')])],
  },
  approve: {
    0: ['every tool of a server (--all)', run(() => ['approve', '--all', '--registry', R, '--lockfile', p('all.lock.json'), '--provider', 'com.acme', '--', process.execPath, SERVER, p('server-list.json')])],
    1: ['a revoked version', run(() => ['approve', 'com.acme/read_media_file@1.0.0', '--registry', R, '--lockfile', p('other.lock.json')])],
    2: ['a malformed tool id', run(() => ['approve', 'not a tool', '--registry', R, '--lockfile', p('other.lock.json')])],
  },
  pins: {
    0: ['list', run(() => ['pins', 'list', '--lockfile', p('escalated.lock.json')])],
    1: ['remove a pin that is not there', run(() => ['pins', 'remove', 'com.acme/nothing', '--lockfile', p('clean.lock.json')])],
    2: ['an unknown action', run(() => ['pins', 'frob', '--lockfile', p('clean.lock.json')])],
  },
  audit: {
    0: ['clean pins', run(() => ['audit', '--registry', R, '--lockfile', p('clean.lock.json')])],
    1: ['a newer version asks for more (PERMISSION_ESCALATION)', run(() => ['audit', '--registry', R, '--lockfile', p('escalated.lock.json')])],
    2: ['no lockfile', run(() => ['audit', '--registry', R, '--lockfile', p('missing.lock.json')])],
  },
  diff: {
    0: ['fewer permissions', run(() => ['diff', 'com.acme/read_file', '1.1.0', '1.0.0', '--registry', R])],
    1: ['an escalation', run(() => ['diff', 'com.acme/read_file', '1.0.0', '1.1.0', '--registry', R])],
    2: ['an unknown version', run(() => ['diff', 'com.acme/read_file', '1.0.0', '9.9.9', '--registry', R])],
  },
  revoke: {
    0: ['a published version', run(() => ['revoke', 'com.acme/read_multiple_files@1.0.0', '--registry', R, '--reason', 'test', '--key', p('acme.jwk')])],
    1: ['a version already revoked', run(() => ['revoke', 'com.acme/read_media_file@1.0.0', '--registry', R, '--reason', 'again', '--key', p('acme.jwk')])],
    2: ['no authority given', run(() => ['revoke', 'com.acme/read_file@1.0.0', '--registry', R, '--reason', 'x'])],
  },
  keys: {
    0: ['list', run(() => ['keys', 'list', '--registry', R, '--namespace', 'com.acme', '--json'])],
    1: ['revoke a key already revoked (KEY_ALREADY_REVOKED)', async () => {
      await ok(['keygen', '--out', p('spare.jwk')]);
      await ok(['keys', 'add', '--registry', R, '--namespace', 'com.acme', '--key', p('acme.jwk'), '--new-key', p('spare.jwk')]);
      await ok(['keys', 'revoke', p('spare.jwk'), '--registry', R, '--namespace', 'com.acme', '--reason', 'spare', '--key', p('acme.jwk')]);
      return (await etdi(['keys', 'revoke', p('spare.jwk'), '--registry', R, '--namespace', 'com.acme', '--reason', 'again', '--key', p('acme.jwk'), '--json'])).code;
    }],
    2: ['list of an unknown namespace (NAMESPACE_NOT_FOUND: a wrong name)', run(() => ['keys', 'list', '--registry', R, '--namespace', 'org.unknown', '--json'])],
  },
  registry: {
    0: ['rotate-key with the admin token', run(() => ['registry', 'rotate-key', '--registry', R, '--admin-token-file', p('admin-token'), '--json'])],
    1: ['rotate-key with a publisher token', run(() => ['registry', 'rotate-key', '--registry', R, '--admin-token-file', p('token'), '--json'])],
    2: ['rotate-key without a token', run(() => ['registry', 'rotate-key', '--registry', R])],
  },
  trust: {
    0: ['init from a registry', run(() => ['trust', 'init', '--registry', R, '--out', p('pinned.trust.json')])],
    1: ['init with a fingerprint the registry does not have (TRUST_MISMATCH)', run(() => ['trust', 'init', '--registry', R, '--out', p('mismatch.trust.json'), '--expect', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'])],
    2: ['show of a missing file', run(() => ['trust', 'show', p('missing.trust.json')])],
  },
  log: {
    0: ['a consistent database', run(() => ['log', 'verify', '--db', p('registry.db')])],
    1: ['a manifest rewritten in the database', run(() => ['log', 'verify', '--db', p('tampered.db')])],
    2: ['no database', run(() => ['log', 'verify', '--db', p('missing.db')])],
  },
  backup: {
    0: ['a consistent database', run(() => ['backup', '--db', p('registry.db'), '--out', p('backup-ok.db')])],
    1: ['a manifest rewritten in the database', run(() => ['backup', '--db', p('tampered.db'), '--out', p('backup-tampered.db')])],
    2: ['no database', run(() => ['backup', '--db', p('missing.db'), '--out', p('backup-missing.db')])],
  },
  migrate: {
    0: ['a consistent registry into an empty PostgreSQL database', async () => {
      const target = await freshDatabase();
      databases.push(target);
      return run(() => ['migrate', '--from', p('registry.db'), '--to', target.url])();
    }],
    2: ['into a database that already holds a registry', async () => {
      const target = await freshDatabase();
      databases.push(target);
      await ok(['migrate', '--from', p('registry.db'), '--to', target.url]);
      return run(() => ['migrate', '--from', p('registry.db'), '--to', target.url])();
    }],
  },
  tools: {
    0: ['a server that lists its tools', run(() => ['tools', '--', process.execPath, SERVER, p('tools.json')])],
    2: ['a server that does not start', run(() => ['tools', '--', process.execPath, p('no-such-server.mjs')])],
  },
  scan: {
    // its own lockfile and trust file: the registry verb's case may have rotated the registry key
    0: ['every tool approved', async () => {
      await ok(['approve', 'com.acme/read_text_file@1.0.0', '--registry', R, '--lockfile', p('scan.lock.json')]);
      return run(() => ['scan', hostConfig('clean-host.json', 'read_text_file.carried.json'), '--registry', R, '--lockfile', p('scan.lock.json')])();
    }],
    1: ['a tool that needs approval', run(() => ['scan', hostConfig('pending-host.json', 'read_file.carried.json'), '--registry', R, '--lockfile', p('clean.lock.json')])],
    2: ['an unreadable configuration', run(() => ['scan', p('no-such-config.json'), '--registry', R, '--lockfile', p('clean.lock.json')])],
  },
  protect: {
    0: ['a configuration with a stdio server', run(() => ['protect', hostConfig('protect-host.json', 'read_text_file.carried.json'), '--registry', R, '--lockfile', p('clean.lock.json'), '--etdi', CLI])],
    1: ['--undo after the file changed since', async () => {
      const config = hostConfig('changed-host.json', 'read_text_file.carried.json');
      expect((await etdi(['protect', config, '--registry', R, '--lockfile', p('clean.lock.json'), '--etdi', CLI])).code).toBe(0);
      writeFileSync(config, readFileSync(config, 'utf8').replace('"etdi-readme"', '"renamed"'));
      return (await etdi(['protect', config, '--undo'])).code;
    }],
    2: ['--undo with no backup', run(() => ['protect', hostConfig('fresh-host.json', 'read_text_file.carried.json'), '--undo'])],
  },
  'server-json': {
    0: ['a server.json with no _meta', async () => {
      writeFileSync(p('server.json'), JSON.stringify({ name: 'com.acme/filesystem', version: '1.0.0' }));
      return run(() => ['server-json', p('server.json'), '--registry', R])();
    }],
    1: ['a server.json with a _meta key the official registry drops', async () => {
      writeFileSync(p('other-meta.json'), JSON.stringify({ name: 'com.acme/filesystem', _meta: { 'com.acme/build': {} } }));
      return run(() => ['server-json', p('other-meta.json'), '--registry', R])();
    }],
    2: ['a namespace the registry does not know', async () => {
      writeFileSync(p('unknown-server.json'), JSON.stringify({ name: 'org.unknown/x' }));
      return run(() => ['server-json', p('unknown-server.json'), '--registry', R])();
    }],
  },
  proxy: {
    0: ['the host disconnects', () => spawnCli(['proxy', '--registry', R, '--lockfile', p('clean.lock.json'), '--', process.execPath, SERVER, p('tools.json')]).exited],
    2: ['no --registry', run(() => ['proxy', '--lockfile', p('clean.lock.json'), '--', process.execPath, SERVER])],
  },
  serve: {
    0: ['a clean shutdown (SIGTERM)', async () => {
      const child = spawnCli(['serve', '--port', String(await freePort()), '--data', p('serve-data')]);
      await vi.waitUntil(() => child.output().includes('listening on'), { timeout: 30_000, interval: 50 });
      child.kill();
      return child.exited;
    }],
    2: ['a data directory another live registry holds', async () => {
      const lock = lockDataDir(p('held-data'), process.ppid); // a live process that is not us
      try {
        return (await etdi(['serve', '--port', '0', '--data', p('held-data')])).code;
      } finally {
        lock.release();
      }
    }],
  },
};

describe('docs/CLI.md exit codes', () => {
  it('lists every verb of etdi, and only those', () => {
    expect([...TABLE.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))("%s --help names the table's exit codes", (name, command) => {
    expect(helpExitCodes(command.help)).toEqual(TABLE.get(name));
  });

  const rows = [...TABLE].flatMap(([verb, codes]) => codes.map((code) => [verb, code] as const));
  it.each(rows)('%s exits %i as documented', async (verb, code) => {
    if (verb === 'approve' && code === 0)
      writeFileSync(p('server-list.json'), JSON.stringify([JSON.parse(readFileSync(p('read_file.carried.json'), 'utf8'))]));
    const scenario = CASES[verb]?.[code as 0 | 1 | 2];
    expect(scenario, `no case runs ${verb} into exit ${code}: add one to CASES`).toBeDefined();
    expect(await scenario![1]()).toBe(code);
  });
});
