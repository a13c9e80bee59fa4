/**
 * A digest of everything the registry keeps: one SHA-256 per table (every row, every column, in
 * a total order) plus the log's size and RFC 9162 root. Two equal digests mean the store and the
 * log are byte-identical (the hostile-input fuzzer's "nothing changed" check).
 */
import { createHash } from 'node:crypto';
import type { SqliteStore, TransparencyLog } from '@etdi/registry';

export interface StateDigest {
  /** table name -> `rows:<n> sha256:<hex>` */
  tables: Record<string, string>;
  logSize: number;
  /** hex root of the log at `logSize` (rebuilt from the stored nodes, not read from a checkpoint) */
  logRoot: string;
}

function encode(value: unknown): string {
  if (value instanceof Uint8Array) return `x'${Buffer.from(value).toString('hex')}'`;
  if (typeof value === 'bigint') return `${value}n`;
  return JSON.stringify(value);
}

/**
 * Reads every user table of the store's committed state (its read connection). O(size of the
 * database): for the fuzzer's small stores.
 */
export async function stateDigest(store: SqliteStore, log: Pick<TransparencyLog, 'size' | 'rootHash'>): Promise<StateDigest> {
  const db = store.db;
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name);
  const out: Record<string, string> = {};
  for (const table of tables) {
    const quoted = `"${table.replace(/"/g, '""')}"`;
    const columns = db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(table);
    const order = columns.map((_, i) => String(i + 1)).join(', ');
    const hash = createHash('sha256');
    let rows = 0;
    for (const row of db.prepare(`SELECT * FROM ${quoted} ORDER BY ${order}`).raw().iterate() as IterableIterator<unknown[]>) {
      hash.update(row.map(encode).join('\u0000'));
      hash.update('\n');
      rows++;
    }
    out[table] = `rows:${rows} sha256:${hash.digest('hex')}`;
  }
  const logSize = await log.size();
  return { tables: out, logSize, logRoot: Buffer.from(await log.rootHash(logSize)).toString('hex') };
}
