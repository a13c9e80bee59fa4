import { existsSync } from 'node:fs';
import type { FsckReport } from '@etdi/registry';
import { optional, parse } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi log verify (--db <registry.db> | --database <postgres url>) [--origin <origin>]
                [--log-key <verifier key>] [--json]

The transparency log's fsck on the registry's database: its SQLite file (opened read-only), or
its PostgreSQL database (reads only; the registry processes may keep running). It rebuilds
the whole Merkle tree from the stored leaves and compares every stored subtree hash and every
signed checkpoint with the rebuild, verifies each checkpoint note (with --log-key, the C2SP
verifier key clients pin), checks consecutive checkpoints are consistent, and cross-checks every
leaf against the registry's tables: its audit row (no event without its leaf, no leaf without its
event), the namespace, key or version row it created, and a version's stored signed manifest,
which must still hash to the digests the leaf logged.
O(n): run it on a copy or while the registry is quiet.

  --db <file>          the SQLite registry database (<data dir>/registry.db; etdi serve's
                       default data dir is ./data)
  --database <url>     the PostgreSQL registry database (postgres://...); one of the two
  --origin <origin>    the expected checkpoint origin line
  --log-key <key>      verify every checkpoint note with this key (<name>+<hex id>+<base64>)
  --json               {"ok":bool,"size","rootHash","checkpoints","newestCheckpointSize",
                        "problems":[{"code","message","index"?,"level"?,"size"?}],"truncated"}

Examples:
  etdi log verify --db ./data/registry.db
  etdi log verify --database postgres://etdi@db.internal/etdi

Exit codes: 0 consistent, 1 problems found, 2 usage or the file cannot be opened.`;

export const logCommand: Command = {
  name: 'log',
  summary: 'log verify: the transparency log fsck on a registry database',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('log', argv, { db: { type: 'string' }, database: { type: 'string' }, origin: { type: 'string' }, 'log-key': { type: 'string' } });
    const out = new Output(io, values.json === true);
    if (positionals[0] !== 'verify' || positionals.length !== 1) throw usage('log', 'the only action is "log verify"');
    const path = optional(values, 'db');
    const database = optional(values, 'database');
    if ((path === undefined) === (database === undefined)) throw usage('log', 'give the database to check: --db <registry.db> (SQLite) or --database <postgres url>');
    const origin = optional(values, 'origin');
    const verifierKey = optional(values, 'log-key');
    const options = { ...(origin ? { origin } : {}), ...(verifierKey ? { verifierKey } : {}) };
    const { databaseForDisplay, fsckRegistry, fsckSqliteFile, isPostgresUrl, openStore } = await import('@etdi/registry');
    let report: FsckReport;
    if (path !== undefined) {
      if (!existsSync(path)) throw new CliError('OPERATIONAL', `no database at ${path}`, { path });
      try {
        report = await fsckSqliteFile(path, options);
      } catch (cause) {
        throw new CliError('OPERATIONAL', `cannot check the log in ${path}: ${(cause as Error).message}`, { path }, { cause });
      }
    } else {
      if (!isPostgresUrl(database!)) throw usage('log', '--database takes a postgres:// URL; a SQLite file is --db <file>');
      const where = databaseForDisplay(database!);
      try {
        const store = await openStore({ database: database! });
        try {
          report = await fsckRegistry(store, options);
        } finally {
          await store.close();
        }
      } catch (cause) {
        throw new CliError('OPERATIONAL', `cannot check the log in ${where}: ${(cause as Error).message}`, { database: where }, { cause });
      }
    }
    out.result(report);
    out.line(`${report.ok ? out.paint('green', 'consistent') : out.paint('red', 'PROBLEMS')}: ${report.size} entries, root ${report.rootHash}, ${report.checkpoints} signed checkpoint(s), newest at size ${report.newestCheckpointSize ?? '-'}`);
    if (report.problems.length > 0) out.table(['CODE', 'INDEX', 'MESSAGE'], report.problems.map((p) => [p.code, p.index === undefined ? '' : String(p.index), p.message]));
    if (report.truncated) out.line('(problem list truncated)');
    return report.ok ? EXIT.OK : EXIT.FINDINGS;
  },
};
