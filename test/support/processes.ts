// Real processes for end-to-end tests: the built `etdi` binary (scripts/dist/cli.js, built by
// `npm test`'s build step), a registry it serves on 127.0.0.1, and a provider publishing to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'scripts/dist/cli.js');
export const ADMIN_TOKEN = 'e2e-test-admin-token-0123456789';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no shell), capturing its output. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ETDI_REQUEST_LOG: 'off', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `etdi <args>` from the build. */
export function etdi(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return run(process.execPath, [CLI, ...args], { cwd, env });
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RegistryProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** SIGKILL: the process dies at once, mid-request, mid-transaction (a crash). */
  kill(): Promise<void>;
}

/** `etdi serve` on 127.0.0.1 (a free port unless given) with its data in `data`; resolves when it listens. */
export async function startRegistry(data: string, cwd: string, options: { args?: readonly string[]; port?: number } = {}): Promise<RegistryProcess> {
  const port = options.port ?? (await freePort());
  const extraArgs = options.args ?? [];
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data', data, ...extraArgs], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ETDI_REQUEST_LOG: 'off', ETDI_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`registry exited ${code}: ${out}`)));
  });
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(name);
    await exited;
  };
  return { url, pid: child.pid!, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

/** One of the real filesystem server's tools (test/fixtures/real-tools), by name. */
export function realTool(name: string): Record<string, unknown> {
  const tools = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/real-tools/filesystem.json'), 'utf8')) as Record<string, unknown>[];
  const tool = tools.find((t) => t.name === name);
  if (tool === undefined) throw new Error(`no real tool ${name}`);
  return tool;
}

/**
 * A provider publishing `definitions` under `namespace` at `version` with the CLI, as the README's
 * publisher journey does: keygen, register (admin grant), token, sign, publish.
 */
export async function publishWithCli(url: string, dir: string, namespace: string, version: string, definitions: readonly Record<string, unknown>[]): Promise<void> {
  const must = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => {
    const r = await etdi(args, dir, env);
    if (r.code !== 0) throw new Error(`etdi ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
    return r;
  };
  const key = `${namespace}.jwk`;
  await must(['keygen', '--out', key]);
  await must(['register', '--registry', url, '--key', key, '--namespace', namespace], { ETDI_ADMIN_TOKEN: ADMIN_TOKEN });
  await must(['token', '--registry', url, '--key', key, '--namespace', namespace, '--out', `${namespace}.token`]);
  writeFileSync(join(dir, `${namespace}-tools.json`), JSON.stringify({ tools: definitions }));
  const out = `signed-${namespace}-${version}`;
  mkdirSync(join(dir, out), { recursive: true });
  await must(['sign', '--key', key, '--namespace', namespace, '--version', version, '--tools-list', `${namespace}-tools.json`, '--out', out]);
  const signed = definitions.map((d) => join(out, `${String(d.name)}@${version}.signed.json`));
  await must(['publish', ...signed, '--registry', url, '--token-file', `${namespace}.token`]);
}
