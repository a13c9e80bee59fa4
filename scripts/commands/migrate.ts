import { existsSync } from 'node:fs';
import { parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi migrate --from <registry.db> --to <postgres url> [--json]

A one-way copy of a SQLite registry into a new, empty PostgreSQL database: every namespace, key,
tool and version, the audit trail, the transparency log's leaves, subtree hashes and signed
checkpoints byte for byte, and the registry's signing keys (so the log key and the checkpoints
clients already hold stay valid). The source must pass \`etdi log verify\` first; the copy is
written in one transaction (a failure leaves the target empty) and then checked the same way,
and must have the same log size and root. Stop the SQLite registry first (or copy a backup):
publishes landing after the copy's snapshot would not be in it.

  --from <file>   the SQLite registry database (<data dir>/registry.db), opened read-only
  --to <url>      the PostgreSQL database (postgres://...): it must be empty of registry rows
  --json          {"ok":true,"size","rootHash","rows":{"<table>":n,...}}

Example:
  etdi migrate --from ./data/registry.db --to postgres://etdi@db.internal/etdi
  etdi serve --database postgres://etdi@db.internal/etdi

Exit codes: 0 copied with the same log root, 2 usage, refused (the target holds data, the source
does not pass fsck) or the database cannot be reached.`;

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'one-way copy of a SQLite registry into an empty PostgreSQL database, same log root',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('migrate', argv, { from: { type: 'string' }, to: { type: 'string' } });
    const out = new Output(io, values.json === true);
    if (positionals.length > 0) throw usage('migrate', `unexpected argument ${positionals[0]}`);
    const path = required('migrate', values, 'from');
    const url = required('migrate', values, 'to');
    const { copySqliteToPostgres, databaseForDisplay, isPostgresUrl, SqliteStore } = await import('@etdi/registry');
    if (!isPostgresUrl(url)) throw usage('migrate', '--to takes a postgres:// URL (the copy goes into PostgreSQL; a SQLite copy is etdi backup)');
    if (!existsSync(path)) throw new CliError('OPERATIONAL', `no database at ${path}`, { path });
    const where = databaseForDisplay(url);
    const source = SqliteStore.open({ path, readonly: true });
    try {
      const report = await copySqliteToPostgres(source, url);
      out.result({ ok: true, size: report.size, rootHash: report.rootHash, rows: report.rows });
      out.line(`${out.paint('green', 'migrated')}: ${path} -> ${where}, log of ${report.size} entries, root ${report.rootHash}`);
      out.table(['TABLE', 'ROWS'], Object.entries(report.rows).map(([table, n]) => [table, String(n)]));
      return EXIT.OK;
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot migrate ${path} to ${where}: ${(cause as Error).message}`, { from: path, to: where }, { cause });
    } finally {
      await source.close();
    }
  },
};
