import type { RegistryStore } from '../store/store.js';

interface Job {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface WriteQueueStats {
  batches: number;
  jobs: number;
  largestBatch: number;
}

/**
 * Group commit. Every state change is a synchronous job (its checks, then its writes: rows,
 * audit event, log leaf). Jobs that arrive while a commit is in flight wait for the next batch;
 * a batch runs in ONE durable transaction, each job in its own savepoint, so:
 * - a job that refuses (throws before writing) leaves no trace and does not affect the others;
 * - each job sees the state including the earlier jobs of its batch (version order, replays);
 * - no job is acknowledged before the commit that holds it is on disk (synchronous = FULL).
 * One fsync per batch instead of one per publish is what makes thousands of durable
 * publishes per second possible.
 */
export class WriteQueue {
  private pending: Job[] = [];
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: WriteQueueStats = { batches: 0, jobs: 0, largestBatch: 0 };

  constructor(
    private readonly store: RegistryStore,
    /** Runs last inside each batch transaction (the log signs its checkpoint); a throw aborts the batch. */
    private readonly beforeCommit: () => void,
  ) {}

  submit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate: let the requests already read from the sockets join this batch
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs every pending job now, in one transaction. */
  flush(): void {
    this.scheduled = false;
    const jobs = this.pending;
    this.pending = [];
    if (jobs.length === 0) return this.notifyIdle();
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const store = this.store;
    try {
      store.transaction(() => {
        for (const job of jobs) {
          const sizeBefore = store.log.size;
          try {
            // a nested transaction is a SAVEPOINT: a refused job's rows roll back alone
            outcomes.push({ ok: true, value: store.db.transaction(job.run)() });
          } catch (error) {
            // a leaf was appended and then the job failed: the log's view is no longer the
            // store's; abort the whole batch rather than commit a leaf without its event
            if (store.log.size !== sizeBefore) throw error;
            outcomes.push({ ok: false, error });
          }
        }
        // sign the new checkpoint in the same transaction: one fsync per batch, and the note
        // reaches nobody before the commit that holds its leaves
        if (outcomes.some((o) => o.ok)) this.beforeCommit();
      });
    } catch (error) {
      store.reopenLog();
      for (const job of jobs) job.reject(error);
      return this.notifyIdle();
    }
    this.stats.batches++;
    this.stats.jobs += jobs.length;
    if (jobs.length > this.stats.largestBatch) this.stats.largestBatch = jobs.length;
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
    this.notifyIdle();
  }

  /** Resolves when no job is pending (graceful shutdown). */
  idle(): Promise<void> {
    if (this.pending.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.pending.length > 0 || this.scheduled) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
