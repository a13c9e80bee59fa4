import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { canonicalize } from '../../protocol/index.js';
import type { FsckEntry, FsckReport } from '../../registry/log/fsck.js';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi log verify --db <registry.db> [--origin <origin>] [--log-key <verifier key>] [--json]

The transparency log's fsck, offline, on the registry's SQLite file (opened read-only): rebuilds
the whole Merkle tree from the stored leaves and compares every stored subtree hash and every
signed checkpoint with the rebuild, verifies each checkpoint note (with --log-key, the C2SP
verifier key clients pin), checks consecutive checkpoints are consistent, and cross-checks every
leaf against the registry's audit table (no event without its leaf, no leaf without its event).
O(n): run it on a copy or while the registry is quiet.

  --db <file>          the registry database (default data dir: ./data/registry.db)
  --origin <origin>    the expected checkpoint origin line
  --log-key <key>      verify every checkpoint note with this key (<name>+<hex id>+<base64>)
  --json               {"ok":bool,"size","rootHash","checkpoints","newestCheckpointSize",
                        "problems":[{"code","message","index"?,"level"?,"size"?}],"truncated"}

Example:
  etdi log verify --db ./data/registry.db

Exit codes: 0 consistent, 1 problems found, 2 usage or the file cannot be opened.`;

/** The leaf-versus-audit-row check, read-only SQL (the registry's own tables, when present). */
function auditRowCheck(db: Database.Database): ((entry: FsckEntry) => void) | undefined {
  const hasAudit = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'").get() !== undefined;
  if (!hasAudit) return undefined;
  const audit = db.prepare<[number], { event: string }>('SELECT event FROM audit WHERE leaf_index = ?');
  return (entry) => {
    const row = audit.get(entry.index);
    if (row === undefined) throw new Error(`leaf ${entry.index} has no audit row`);
    if (entry.event === undefined || row.event !== canonicalize(entry.event)) throw new Error(`leaf ${entry.index} differs from its audit row`);
  };
}

export const logCommand: Command = {
  name: 'log',
  summary: 'log verify: the transparency log fsck on a registry database',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('log', argv, { db: { type: 'string' }, origin: { type: 'string' }, 'log-key': { type: 'string' } });
    const out = new Output(io, values.json === true);
    if (positionals[0] !== 'verify' || positionals.length !== 1) throw usage('log', 'the only action is "log verify"');
    const path = required('log', values, 'db');
    if (!existsSync(path)) throw new CliError('OPERATIONAL', `no database at ${path}`, { path });
    const { default: Sqlite } = await import('better-sqlite3');
    const { fsckLog } = await import('../../registry/log/fsck.js');
    let db: Database.Database;
    try {
      db = new Sqlite(path, { readonly: true, fileMustExist: true });
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot open ${path}: ${(cause as Error).message}`, { path }, { cause });
    }
    let report: FsckReport;
    try {
      const onEntry = auditRowCheck(db);
      const origin = optional(values, 'origin');
      const verifierKey = optional(values, 'log-key');
      report = await fsckLog(db, { ...(origin ? { origin } : {}), ...(verifierKey ? { verifierKey } : {}), ...(onEntry ? { onEntry } : {}) });
      if (onEntry !== undefined) {
        const orphans = db.prepare<[number], { leaf_index: number }>('SELECT leaf_index FROM audit WHERE leaf_index >= ? LIMIT 10').all(report.size);
        for (const o of orphans) report.problems.push({ code: 'ENTRY_REJECTED', message: `audit row ${o.leaf_index} has no log leaf`, index: o.leaf_index });
        report.ok = report.ok && orphans.length === 0;
      }
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot check the log in ${path}: ${(cause as Error).message}`, { path }, { cause });
    } finally {
      db.close();
    }
    out.result(report);
    out.line(`${report.ok ? out.paint('green', 'consistent') : out.paint('red', 'PROBLEMS')}: ${report.size} entries, root ${report.rootHash}, ${report.checkpoints} signed checkpoint(s), newest at size ${report.newestCheckpointSize ?? '-'}`);
    if (report.problems.length > 0) out.table(['CODE', 'INDEX', 'MESSAGE'], report.problems.map((p) => [p.code, p.index === undefined ? '' : String(p.index), p.message]));
    if (report.truncated) out.line('(problem list truncated)');
    return report.ok ? EXIT.OK : EXIT.FINDINGS;
  },
};
