import type { PoolOptions } from './postgres/pool.js';
import { PostgresStore, redactPassword } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /**
   * Where the registry's data lives: a `postgres://` (or `postgresql://`) URL for the PostgreSQL
   * store (any number of registry processes on one database), anything else is the path of the
   * SQLite file (the embedded default: one registry process).
   */
  database: string;
  /** The log's C2SP origin line: recorded in a new database; another one is refused (LOG_CONFIG). Omitted: neither. */
  logOrigin?: string;
  /** PostgreSQL only: this process's connection pool (registry/store/postgres/pool.ts). */
  pool?: PoolOptions;
}

export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database);

/** `database` as messages may show it: a PostgreSQL URL without its password, a path as it is. */
export const databaseForDisplay = (database: string): string => (isPostgresUrl(database) ? redactPassword(database) : database);

/** The store `database` names, opened and migrated. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (isPostgresUrl(options.database)) {
    return PostgresStore.open({ url: options.database, ...(options.logOrigin ? { logOrigin: options.logOrigin } : {}), ...(options.pool ? { pool: options.pool } : {}) });
  }
  return SqliteStore.open({ path: options.database, ...(options.logOrigin ? { logOrigin: options.logOrigin } : {}) });
}
