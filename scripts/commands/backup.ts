import { chmodSync, existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { FsckReport } from '@etdi/registry';
import { parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi backup --db <registry.db> --out <copy.db> [--json]

An online, consistent copy of the registry's SQLite database, taken while the registry runs, with
SQLite's backup API (copying the file itself can tear it: the WAL holds the newest commits). The
copy is then checked as \`etdi log verify\` would (the whole log rebuilt and cross-checked
against the registry's tables). The copy holds the registry's private signing keys: it is
written owner-only (0600); keep it as you keep the keys.

  --db <file>    the registry database (./data/registry.db by default layout)
  --out <file>   where the copy goes; must not exist yet
  --json         {"ok":bool,"out","pages","size","checkpoints","problems":[...]}

Restore: stop the registry, move the copy to <data dir>/registry.db (remove any registry.db-wal
and registry.db-shm left there), start the registry (docs/OPERATIONS.md). On PostgreSQL use its
own tools (pg_dump, or base backups with WAL archiving) instead.

Example:
  etdi backup --db ./data/registry.db --out ./backups/registry-$(date +%F).db

Exit codes: 0 copied and consistent, 1 copied but the copy has problems, 2 usage or I/O error.`;

export const backupCommand: Command = {
  name: 'backup',
  summary: 'an online, consistent copy of the registry database (SQLite backup API), checked',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('backup', argv, { db: { type: 'string' }, out: { type: 'string' } });
    const out = new Output(io, values.json === true);
    if (positionals.length > 0) throw usage('backup', `unexpected argument ${positionals[0]}`);
    const path = required('backup', values, 'db');
    const target = required('backup', values, 'out');
    if (!existsSync(path)) throw new CliError('OPERATIONAL', `no database at ${path}`, { path });
    if (existsSync(target)) throw usage('backup', `${target} exists; choose a new file (a backup never overwrites)`);
    const { default: Sqlite } = await import('better-sqlite3');
    const { fsckSqliteFile } = await import('@etdi/registry');
    let source: Database.Database;
    try {
      // read-only: the backup reads pages, the running registry keeps writing through the WAL
      source = new Sqlite(path, { readonly: true, fileMustExist: true });
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot open ${path}: ${(cause as Error).message}`, { path }, { cause });
    }
    let pages: number;
    try {
      // the online backup API, all pages in one step: one read transaction on the source, so the
      // copy is one committed state, and commits landing meanwhile (WAL) neither wait for it nor
      // restart it (in small steps, another connection's commit restarts the copy: under a steady
      // publish load it could never finish)
      const result = await source.backup(target, { progress: () => 0x7fffffff });
      pages = result.totalPages;
      chmodSync(target, 0o600);
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot copy ${path} to ${target}: ${(cause as Error).message}`, { path, out: target }, { cause });
    } finally {
      source.close();
    }
    const report: FsckReport = await fsckSqliteFile(target);
    out.result({ ok: report.ok, out: target, pages, size: report.size, checkpoints: report.checkpoints, problems: report.problems });
    out.line(
      `${report.ok ? out.paint('green', 'backed up') : out.paint('red', 'COPY HAS PROBLEMS')}: ${target} (${pages} pages), log of ${report.size} entries, ${report.checkpoints} signed checkpoint(s)`,
    );
    if (report.problems.length > 0) out.table(['CODE', 'INDEX', 'MESSAGE'], report.problems.map((p) => [p.code, p.index === undefined ? '' : String(p.index), p.message]));
    return report.ok ? EXIT.OK : EXIT.FINDINGS;
  },
};
