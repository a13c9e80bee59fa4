import pg from 'pg';
import { RegistryError } from '../../errors.js';
import { toQueryConfig, type Statement } from './query.js';

export interface PoolOptions {
  /** Connections this process may hold (default 10). PostgreSQL's max_connections bounds the sum over processes. */
  max?: number;
  /** Callers that may wait for a connection when all are busy (default 64); one more gets STORE_BUSY. */
  queueLimit?: number;
  /** How long a caller waits for a connection before STORE_BUSY, in ms (default 2000). */
  acquireTimeoutMs?: number;
}

export const POOL_DEFAULTS = { max: 10, queueLimit: 64, acquireTimeoutMs: 2000 } as const;

/**
 * How long an open transaction may sit idle (the process hung or was stopped) before PostgreSQL
 * ends its session and releases the write lock: without it one stuck process would stop every
 * writer of every process.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/** How long establishing a new connection may take (PostgreSQL down or unreachable). */
const CONNECT_TIMEOUT_MS = 10_000;

const INT8_OID = 20;

/**
 * int8 (bigint: leaf indexes, sizes, counts, epoch seconds) as a JS number. node-postgres returns
 * it as a string by default because it may exceed 2^53; here every such value is a count or an
 * index far below that, and one that is not is refused rather than rounded.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PostgreSQL returned the bigint ${text}, beyond the safe integers of JavaScript`);
  return n;
}

// Per pool, not pg.types.setTypeParser: other users of pg in the same process keep their parsers.
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
}

/**
 * A pg.Pool whose wait is bounded. pg.Pool queues callers without limit when every connection is
 * busy; under overload that queue (and every request's latency) grows until memory runs out.
 * Here at most `max` callers hold a connection, at most `queueLimit` wait, each at most
 * `acquireTimeoutMs`: the others get STORE_BUSY (503 with Retry-After) at once. The permits are
 * counted here, so pg.Pool itself never queues: its own timeout only bounds opening a connection.
 */
export class BoundedPool {
  readonly max: number;
  readonly queueLimit: number;
  readonly acquireTimeoutMs: number;
  private readonly pool: pg.Pool;
  private held = 0;
  private readonly waiters: Waiter[] = [];

  constructor(url: string, options: PoolOptions = {}) {
    this.max = positiveInteger(options.max ?? POOL_DEFAULTS.max, 'pool.max');
    this.queueLimit = nonNegativeInteger(options.queueLimit ?? POOL_DEFAULTS.queueLimit, 'pool.queueLimit');
    this.acquireTimeoutMs = nonNegativeInteger(options.acquireTimeoutMs ?? POOL_DEFAULTS.acquireTimeoutMs, 'pool.acquireTimeoutMs');
    this.pool = new pg.Pool({
      connectionString: url,
      max: this.max,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // which process holds a connection (and the write lock): pg_stat_activity.application_name
      application_name: `etdi-registry:${process.pid}`,
      // an acknowledged COMMIT is on the server's stable storage (whatever the server's default)
      options: `-c synchronous_commit=on -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
      types,
    });
    // An idle connection the server closed (restart, idle timeout) is dropped by pg.Pool; without a
    // listener its 'error' event would end the process. The next caller gets a new connection.
    this.pool.on('error', () => undefined);
  }

  /** A connection of its own; give it back with `release`. Throws STORE_BUSY rather than wait without bound. */
  async acquire(): Promise<pg.PoolClient> {
    await this.permit();
    try {
      return await this.pool.connect();
    } catch (error) {
      this.returnPermit();
      throw error;
    }
  }

  /** Returns the connection; with `broken`, it is closed instead of reused (a failed ROLLBACK, a lost socket). */
  release(client: pg.PoolClient, broken?: Error): void {
    client.release(broken ?? false);
    this.returnPermit();
  }

  /** One statement on any connection: committed state. */
  async query<R extends object>(statement: Statement, values?: readonly unknown[]): Promise<R[]> {
    const client = await this.acquire();
    try {
      const result = await client.query<R>(toQueryConfig(statement, values));
      this.release(client);
      return result.rows;
    } catch (error) {
      this.release(client, isStatementError(error) ? undefined : (error as Error));
      throw error;
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }

  private permit(): Promise<void> {
    if (this.held < this.max) {
      this.held++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.queueLimit)
      return Promise.reject(
        storeBusy(`all ${this.max} database connections are in use and ${this.queueLimit} callers already wait for one`),
      );
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(storeBusy(`no database connection came free within ${this.acquireTimeoutMs} ms (all ${this.max} in use)`));
        }, this.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private returnPermit(): void {
    const next = this.waiters.shift();
    if (next === undefined) {
      this.held--;
      return;
    }
    // the permit passes to the longest waiter: `held` is unchanged
    clearTimeout(next.timer);
    next.grant();
  }
}

/** STORE_BUSY (503, Retry-After: 1): the store is overloaded, not broken. */
export function storeBusy(reason: string, cause?: unknown): RegistryError {
  return new RegistryError(
    'STORE_BUSY',
    `the PostgreSQL store is busy: ${reason}; retry in a second, or raise the store's pool size (pool.max, within PostgreSQL's max_connections) or add registry capacity`,
    { cause, headers: { 'Retry-After': '1' } },
  );
}

/** An error PostgreSQL answered for one statement: the connection itself is fine. */
export function isStatementError(error: unknown): boolean {
  return error instanceof pg.DatabaseError;
}

function positiveInteger(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}

function nonNegativeInteger(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return n;
}
