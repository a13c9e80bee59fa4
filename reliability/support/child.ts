import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';


export function serveChildPath(): string {
  // from dist/reliability/support/child.js -> dist/reliability/serve-child.js; from the .ts source
  // (vitest) -> the compiled file under dist/
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.js') ? fileURLToPath(new URL('../serve-child.js', import.meta.url)) : fileURLToPath(new URL('../../dist/reliability/serve-child.js', import.meta.url));
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run "npm run build" (or "npx tsc -p tsconfig.json") first`);
  return compiled;
}

export interface ChildRegistry {
  process: ChildProcess;
  url: string;
  /** ms from spawn to READY (the server listens). */
  readyMs: number;
  stderr: string[];
  exited: Promise<void>;
}

/** Starts the registry in its own process on `db` and waits for it to listen. */
export async function startChild(db: string, extraArgs: string[] = []): Promise<ChildRegistry> {
  const started = performance.now();
  const child = spawn(process.execPath, [serveChildPath(), '--db', db, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`registry child exited (${code}) before READY: ${stderr.join('')}`)));
  });
  return { process: child, url, readyMs: performance.now() - started, stderr, exited };
}

/** Resident set size of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Peak resident set size of a process in MB (Linux /proc VmHWM). */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}
