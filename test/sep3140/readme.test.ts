/**
 * The SEP-3140 snippets of the READMEs, run as written: @etdi/provider's signed server (a real
 * process on 127.0.0.1, its key made by `etdi keygen`) and @etdi/client's host against it. The
 * only substitution is the port (the READMEs say 3000).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LockfileSchema } from '../../schemas/index.js';
import { ROOT, etdi, freePort, run } from '../support/processes.js';
import { runnableSnippets, snippet } from '../support/snippets.js';

const README_ORIGIN = 'http://127.0.0.1:3000';

let dir: string;
let origin: string;
let stopServer: () => void;

beforeAll(async () => {
  // inside the checkout, so that @etdi/* resolve to the workspace packages (their build)
  const base = join(ROOT, 'node_modules/.cache/etdi-test');
  mkdirSync(base, { recursive: true });
  dir = mkdtempSync(join(base, 'sep3140-'));
  origin = `http://127.0.0.1:${await freePort()}`;
  const keygen = await etdi(['keygen', '--out', 'publisher.jwk'], dir);
  expect(keygen.code, keygen.stderr).toBe(0);
  writeFileSync(join(dir, 'server.mjs'), snippet(runnableSnippets(join(ROOT, 'provider/README.md')), 'sep3140-server').code.replaceAll(README_ORIGIN, origin));
  writeFileSync(join(dir, 'host.mjs'), snippet(runnableSnippets(join(ROOT, 'client-verifier/README.md')), 'sep3140-host').code.replaceAll(README_ORIGIN, origin));
  const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  stopServer = () => child.kill('SIGTERM');
  await vi.waitUntil(async () => (await fetch(`${origin}/jwks.json`).then((r) => r.ok).catch(() => false)) || output.includes('Error'), { timeout: 20_000, interval: 100 });
  expect(output).toBe('');
}, 60_000);

afterAll(() => {
  stopServer?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SEP-3140 README snippets, run as written', () => {
  it('the host verifies the provider\'s server: the read-only tool approved on first use and called, the destructive one withheld', async () => {
    const host = await run(process.execPath, ['host.mjs'], { cwd: dir });
    expect(host.code, host.stderr).toBe(0);
    expect(host.stdout).toContain('tools: read_note');
    expect(host.stdout).toContain('withheld delete_note: NEEDS_APPROVAL');
    expect(host.stdout).toContain('note 7');
    const lockfile = LockfileSchema.parse(JSON.parse(readFileSync(join(dir, 'etdi.lock.json'), 'utf8')));
    expect(Object.keys(lockfile.tools)).toEqual(['example.notes/read_note']);
  }, 60_000);
});
