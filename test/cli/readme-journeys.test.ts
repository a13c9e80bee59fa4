import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// The README's journeys, exactly as written: the commands are read from README.md's "Journeys"
// section (every ```sh block, in order), so a README that stops working fails here. They run
// through /bin/sh in a fresh directory (with `test/` linked to the fixtures the README names),
// `etdi` being the built CLI (dist/, built by `npm test`'s tsc step), against the registry the
// README's own `etdi serve` line starts on a free port (every 8080 replaced by it).
vi.setConfig({ testTimeout: 120_000 });

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'scripts/dist/cli.js');

interface Step {
  journey: string;
  command: string;
  exit: number;
  /** A word the output must contain (`# exit 1: REVOKED`). */
  expect?: string;
}

/** The ```sh blocks of the README's "Journeys" section, one step per command line. */
function journeySteps(readme: string): Step[] {
  const start = readme.indexOf('\n## Journeys');
  if (start === -1) throw new Error('README.md has no "## Journeys" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const steps: Step[] = [];
  let journey = '';
  let inBlock = false;
  for (const line of section.split('\n')) {
    if (line.startsWith('### ')) journey = line.slice(4).trim();
    if (line.trim() === '```sh') {
      inBlock = true;
      continue;
    }
    if (inBlock && line.trim() === '```') {
      inBlock = false;
      continue;
    }
    if (!inBlock || line.trim() === '' || line.trim().startsWith('#')) continue;
    const m = /^(.*?)\s+#\s*exit (\d)(?::\s*(\S+))?\s*$/.exec(line);
    steps.push(m ? { journey, command: m[1]!.trim(), exit: Number(m[2]), ...(m[3] ? { expect: m[3] } : {}) } : { journey, command: line.trim(), exit: 0 });
  }
  return steps;
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const STEPS = journeySteps(README);

let dir: string;
let port: number;
let registry: ChildProcess | undefined;
let registryOutput = '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const env = (): NodeJS.ProcessEnv => {
  const clean: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ETDI_REQUEST_LOG: 'off', PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` };
  // the README's demo writes its own administrator token only when none is configured
  delete clean.ETDI_ADMIN_TOKEN;
  delete clean.ETDI_TOKEN;
  return clean;
};

const localise = (command: string): string => command.replaceAll('8080', String(port));

function sh(command: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Starts the README's `etdi serve` line in the background; resolves when it listens. */
function startRegistry(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // exec: the shell becomes etdi, so the SIGTERM of afterAll reaches the registry itself
    const child = spawn('/bin/sh', ['-c', `exec ${command}`], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    registry = child;
    const timer = setTimeout(() => reject(new Error(`the registry did not start: ${registryOutput}`)), 60_000);
    const onData = (d: Buffer): void => {
      registryOutput += d.toString();
      // the last start-up line: the register command
      if (/etdi register .*--admin-token-file/.test(registryOutput)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the registry exited ${code}: ${registryOutput}`)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etdi-readme-'));
  port = await freePort();
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'etdi'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(dir, 'bin', 'etdi'), 0o755);
  symlinkSync(join(ROOT, 'test'), join(dir, 'test'));
});

afterAll(async () => {
  if (registry && registry.exitCode === null) {
    const exited = new Promise((r) => registry!.once('exit', r));
    registry.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("the README's journeys, run as written", () => {
  it('the README has the four journeys, with the registry started first', () => {
    expect([...new Set(STEPS.map((s) => s.journey))]).toEqual([
      'Run a registry for local development',
      'Publisher: sign and publish a server\'s tools',
      'Approver: verify a server, approve its tools, audit in CI',
      'Incident: revoke a version, rotate a key',
    ]);
    expect(STEPS[0]!.command).toMatch(/^etdi serve /);
  });

  it("starts the registry with the README's command; it writes a 0600 admin token and prints the README's register command", async () => {
    await startRegistry(localise(STEPS[0]!.command));
    const printed = /^\s*(etdi register .*--admin-token-file (\S+))\s*$/m.exec(registryOutput);
    expect(printed, registryOutput).not.toBeNull();
    // the command the publisher journey runs is the one the registry printed
    expect(STEPS.map((s) => localise(s.command))).toContain(printed![1]);
    expect(statSync(join(dir, printed![2]!)).mode & 0o777).toBe(0o600);
  });

  it.each(STEPS.slice(1).map((s, i) => [i + 1, s.journey.split(':')[0], s.command, s] as const))('step %i (%s): %s', async (_i, _journey, _command, step) => {
    expect(registry?.exitCode ?? null, 'the registry must be running').toBeNull();
    const run = await sh(localise(step.command));
    expect(run.code, run.output).toBe(step.exit);
    if (step.expect) expect(run.output).toContain(step.expect);
  });

  it('left the state the journeys describe: the approvals pinned, the version revoked, the old key revoked', async () => {
    const lock = JSON.parse(readFileSync(join(dir, 'etdi.lock.json'), 'utf8')) as { tools: Record<string, unknown> };
    const tools = JSON.parse(readFileSync(join(dir, 'tools.json'), 'utf8')) as unknown[];
    expect(Object.keys(lock.tools)).toHaveLength(tools.length);
    const status = await (await fetch(`http://127.0.0.1:${port}/v1/tools/com.acme/read_file/versions/1.0.0/status`)).json();
    expect(status).toMatchObject({ status: 'revoked' });
    const keys = (await (await fetch(`http://127.0.0.1:${port}/v1/namespaces/com.acme/keys`)).json()) as { status: string }[];
    expect(keys.map((k) => k.status).sort()).toEqual(['active', 'revoked']);
  });
});
