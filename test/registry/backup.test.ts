import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fsckSqliteFile } from '../../registry/index.js';
import { main } from '../../scripts/cli.js';
import { bundledWriteWorker, harness, manifestOf, provider, publishReq, realTools, signed, type Harness } from './helpers.js';

/** Issue 17, item 7: backups while the registry runs, and fsck in plain words. */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function etdi(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): NodeJS.WritableStream => new Writable({ write: (chunk, _enc, cb) => (append(String(chunk)), cb()) });
  const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), stdin: Readable.from([]), env: { NO_COLOR: '1' } });
  return { code, stdout, stderr };
}

const tools = realTools('filesystem');
let h: Harness | undefined;
let dir = '';
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('etdi backup', () => {
  it('takes a consistent copy during a publish load: the copy passes fsck and holds one committed state', async () => {
    h = await harness({ writeWorker: bundledWriteWorker() });
    dir = mkdtempSync(join(tmpdir(), 'etdi-backup-'));
    const acme = await provider(h, 'com.acme');
    let published = 0;
    let stop = false;
    // the load: four publishers, each its own tool, one version after another, until told to stop
    const load = Promise.all(
      tools.slice(0, 4).map(async (definition) => {
        for (let patch = 0; !stop; patch++) {
          const res = await publishReq(h!, acme.token, await signed(acme.key, manifestOf('com.acme', definition, `1.0.${patch}`)));
          expect(res.status).toBe(201);
          published++;
        }
      }),
    );
    while (published < 20) await new Promise((r) => setTimeout(r, 10));
    const copies = [];
    for (let i = 0; i < 3; i++) {
      const out = join(dir, `copy-${i}.db`);
      const run = await etdi(['backup', '--db', join(h.dir, 'registry.db'), '--out', out, '--json']);
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, problems: [] });
      copies.push({ out, publishedThen: published });
    }
    stop = true;
    await load;
    for (const { out } of copies) {
      expect(statSync(out).mode & 0o777).toBe(0o600); // it holds the registry's private keys
      const copy = new Database(out, { readonly: true });
      try {
        const report = await fsckSqliteFile(out);
        expect(report.problems).toEqual([]);
        // one committed state: every version row has its leaf, and every leaf of the copy its row
        const versions = (copy.prepare('SELECT count(*) AS n FROM versions').get() as { n: number }).n;
        const leaves = (copy.prepare("SELECT count(*) AS n FROM audit WHERE kind = 'version.published'").get() as { n: number }).n;
        expect(versions).toBe(leaves);
        expect(versions).toBeGreaterThanOrEqual(20);
      } finally {
        copy.close();
      }
    }
    expect(published).toBeGreaterThan(copies[0]!.publishedThen); // the load really ran during the copies
  });

  it('never overwrites an existing file (exit 2, the file untouched)', async () => {
    h = await harness();
    dir = mkdtempSync(join(tmpdir(), 'etdi-backup-'));
    const out = join(dir, 'copy.db');
    expect((await etdi(['backup', '--db', join(h.dir, 'registry.db'), '--out', out])).code).toBe(0);
    const before = statSync(out).mtimeMs;
    const again = await etdi(['backup', '--db', join(h.dir, 'registry.db'), '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; choose a new file/);
    expect(statSync(out).mtimeMs).toBe(before);
  });
});

describe('etdi log verify on a database that lacks tables', () => {
  it.each([
    ['an empty SQLite file', [] as string[], /log_meta, log_leaves, log_nodes, log_checkpoints are missing/],
    ['a registry copy without its log tables', ['log_leaves', 'log_nodes'], /log_leaves, log_nodes are missing/],
  ])('says what is missing in plain words, not "readonly database" (%s)', async (_name, drop, message) => {
    dir = mkdtempSync(join(tmpdir(), 'etdi-fsck-'));
    const path = join(dir, 'some.db');
    if (drop.length === 0) new Database(path).close();
    else {
      h = await harness();
      const run = await etdi(['backup', '--db', join(h.dir, 'registry.db'), '--out', path]);
      expect(run.code).toBe(0);
      const db = new Database(path);
      for (const t of drop) db.exec(`DROP TABLE ${t}`);
      db.close();
    }
    const run = await etdi(['log', 'verify', '--db', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/TABLES_MISSING/);
    expect(run.stdout).toMatch(message);
    expect(run.stdout + run.stderr).not.toMatch(/readonly/);
    expect(existsSync(path)).toBe(true);
  });
});
