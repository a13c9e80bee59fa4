import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { RegistryError } from '../errors.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store, StoreTx } from '../store/types.js';
import { applyPublish, type PublishJob, type PublishResult } from './publish-job.js';
import { fromWireError, runBatch, type Outcome, type WriteJob } from './write-batch.js';
import type { WorkerReply, WorkerRequest, WriteWorkerData } from './write-worker.js';

type Job =
  | { kind: 'local'; run: WriteJob; resolve: (value: unknown) => void; reject: (error: unknown) => void }
  | { kind: 'publish'; job: PublishJob; resolve: (value: PublishResult) => void; reject: (error: unknown) => void };

export interface WriteQueueStats {
  batches: number;
  jobs: number;
  largestBatch: number;
  /** Wall time spent in batch transactions (checks, writes, checkpoint, COMMIT and its fsync). */
  transactionMs: number;
  /** Where publish batches commit: a worker thread's SQLite connection, or the event loop's store. */
  writer: 'worker' | 'main-thread';
  /** The publish connection's PRAGMA journal_mode and synchronous (2 = FULL), once known. */
  journalMode?: string;
  synchronous?: number;
}

export interface WriteQueueOptions {
  /** Milliseconds since the epoch: the time a publish batch is checked and recorded at. */
  now?: () => number;
  /**
   * The compiled write worker (write-worker.js) to commit publishes on, or undefined to commit
   * them on the event loop's connection. See writeWorkerUrl().
   */
  workerUrl?: URL;
  /**
   * Write-worker deaths within a minute that are answered with a restart; one more and the
   * writer stays down (publishes get 503 WRITER_UNAVAILABLE, /readyz reports it). Default 3.
   */
  maxWorkerRestartsPerMinute?: number;
}

/** The publish writer's state, as /readyz reports it. */
export interface WriterHealth {
  state: 'ok' | 'restarting' | 'failed';
  restarts: number;
  /** Why the worker is down, when it is. */
  error?: string;
}

/**
 * Group commit. Every state change is a job (its checks, then its writes: rows, audit event, log
 * leaf); jobs that arrive while a batch is committing wait for the next batch, and a batch is ONE
 * durable transaction (write-batch.ts): one fsync per batch instead of one per publish.
 *
 * Publishes (plain data, publish-job.ts) commit on the write worker's own connection when there
 * is one: the batch's SQL and its COMMIT's fsync (about 1 ms) then run on the other core while
 * the event loop reads, authenticates and verifies the next publishes, and sends them at once;
 * whatever queued up during a commit is the worker's next transaction (write-worker.ts). Every
 * other job (a closure over the store: registration, keys, statements, revocations) commits on
 * the event loop's connection, only while no publish is in flight, so the two connections never
 * wait for each other's write lock. The jobs pending at a flush were all submitted concurrently
 * (none was acknowledged), so running the local ones first is a valid order.
 * No job is acknowledged before the commit that holds it is on stable storage, and a worker
 * commit is visible to the event loop's reads only after that sync (SQLite's WAL).
 */
export class WriteQueue {
  private pending: Job[] = [];
  private scheduled = false;
  /** Publish batches sent to the worker and not answered yet. */
  private inFlight = 0;
  /** True while a batch of local jobs commits on the event loop's store. */
  private localRunning = false;
  private idleWaiters: (() => void)[] = [];
  private worker: WorkerHandle | undefined;
  private closed = false;
  /** When the write worker died (ms), the last minute's deaths; a restart for each until the limit. */
  private deaths: number[] = [];
  private restarts = 0;
  /** Set when the worker died more often than it may be restarted: the writer stays down. */
  private writerDown: Error | undefined;
  private readonly now: () => number;
  readonly stats: WriteQueueStats;

  constructor(
    private readonly store: Store,
    /** Signs each batch's checkpoint, last inside its transaction; a throw aborts the batch. */
    private readonly log: TransparencyLog,
    private readonly options: WriteQueueOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.stats = { batches: 0, jobs: 0, largestBatch: 0, transactionMs: 0, writer: options.workerUrl ? 'worker' : 'main-thread' };
    if (options.workerUrl !== undefined && !(store instanceof SqliteStore)) throw new RangeError('the write worker commits on a SQLite file only');
    if (!options.workerUrl && store instanceof SqliteStore) {
      this.stats.journalMode = store.writeConnection.pragma('journal_mode', { simple: true }) as string;
      this.stats.synchronous = store.writeConnection.pragma('synchronous', { simple: true }) as number;
    }
    // started now: loading its modules and opening its connection take a few hundred ms, which
    // the first publish after a (re)start would otherwise wait for
    if (options.workerUrl) this.worker = this.startWorker(options.workerUrl);
    // the worker's connection closes with the store's (tests and the server close the store)
    if (store instanceof SqliteStore) store.onClose(() => this.close());
  }

  /** A job on the event loop's store: its checks and writes, on the batch's transaction. */
  submit<T>(run: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(storeClosed());
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ kind: 'local', run, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** A verified publish: checked against the state and written in the next batch. */
  submitPublish(job: PublishJob): Promise<PublishResult> {
    if (this.options.workerUrl === undefined) return this.submit((tx) => applyPublish(tx, this.log, job, this.now()));
    if (this.closed) return Promise.reject(storeClosed());
    if (this.writerDown !== undefined) return Promise.reject(writerUnavailable(this.writerDown));
    return new Promise<PublishResult>((resolve, reject) => {
      this.pending.push({ kind: 'publish', job, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: let the requests already read from the sockets join this batch
    setImmediate(() => this.flush());
  }

  /**
   * Runs every pending job now: the local ones here, the publishes on the worker. Publishes are
   * sent at once, even while earlier ones commit: the worker commits everything that queued up
   * during its previous commit as one transaction. Local jobs wait until no publish is in
   * flight, so that the event loop's connection never waits for the worker's write lock.
   */
  flush(): void {
    this.scheduled = false;
    if (this.localRunning) return; // its end flushes again
    const hasLocal = this.pending.some((j) => j.kind === 'local');
    if (hasLocal && this.inFlight > 0) return; // the last reply flushes again
    if (hasLocal) {
      // the local batch first; the publishes pending now go to the worker after it
      const local = this.pending.filter((j) => j.kind === 'local');
      this.pending = this.pending.filter((j) => j.kind !== 'local');
      this.localRunning = true;
      void this.runLocal(local).finally(() => {
        this.localRunning = false;
        if (this.pending.length > 0) this.flush();
        else this.notifyIdle();
      });
      return;
    }
    const publishes = this.pending as Extract<Job, { kind: 'publish' }>[];
    this.pending = [];
    if (publishes.length > 0) this.sendToWorker(publishes);
    this.notifyIdle();
  }

  /** The publish writer's state: the event loop's connection is always 'ok'. */
  writerHealth(): WriterHealth {
    if (this.writerDown !== undefined) return { state: 'failed', restarts: this.restarts, error: this.writerDown.message };
    if (this.worker !== undefined && !this.worker.ready) return { state: 'restarting', restarts: this.restarts };
    return { state: 'ok', restarts: this.restarts };
  }

  /**
   * Stops the write worker thread as a crash would (drills and the tests of the restart): what
   * it held is refused, and the queue restarts it or reports the writer down.
   */
  async crashWorkerForDrill(): Promise<void> {
    await this.worker?.terminate();
  }

  private startWorker(url: URL): WorkerHandle {
    return new WorkerHandle(url, { path: (this.store as SqliteStore).path, logOrigin: this.log.origin }, this.stats, (error) => this.onWorkerDeath(url, error));
  }

  /**
   * The worker died (a crash, an out-of-memory kill of the thread, a failed open): restart it, so
   * that one fault does not fail every later publish, unless it keeps dying (then it stays down
   * and /readyz says so, which takes the registry out of a load balancer's rotation).
   */
  private onWorkerDeath(url: URL, error: Error): void {
    if (this.closed) return;
    const now = Date.now();
    this.deaths = [...this.deaths.filter((t) => now - t < 60_000), now];
    if (this.deaths.length > (this.options.maxWorkerRestartsPerMinute ?? 3)) {
      this.writerDown = error;
      this.worker = undefined;
      const waiting = this.pending.filter((j) => j.kind === 'publish');
      this.pending = this.pending.filter((j) => j.kind !== 'publish');
      for (const job of waiting) job.reject(writerUnavailable(error));
      this.notifyIdle();
      return;
    }
    this.restarts++;
    this.worker = this.startWorker(url);
  }

  /** Resolves when no job is pending or in flight (graceful shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Closes the worker's connection (synchronously: when this returns, only the event loop's
   * connections are open). Jobs still pending are refused. Called by SqliteStore.close().
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pending = this.pending;
    this.pending = [];
    for (const job of pending) job.reject(storeClosed());
    this.worker?.close();
    this.notifyIdle();
  }

  /**
   * The write worker's event-loop utilisation (its batches' SQL and fsync), as
   * performance.eventLoopUtilization(); undefined while no worker runs. Benchmarks read it.
   */
  workerUtilization(previous?: EventLoopUtilization): EventLoopUtilization | undefined {
    return this.worker?.utilization(previous);
  }

  private async runLocal(jobs: Extract<Job, { kind: 'local' }>[]): Promise<void> {
    let outcomes: Outcome[];
    const started = performance.now();
    try {
      outcomes = await runBatch(this.store, jobs.map((j) => j.run), (tx) => this.log.signCheckpoint(tx));
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    this.count(jobs.length, performance.now() - started);
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }

  private sendToWorker(jobs: Extract<Job, { kind: 'publish' }>[]): void {
    this.inFlight++;
    this.worker!.run(
      jobs.map((j) => j.job),
      this.now(),
      (result) => {
        this.inFlight--;
        if ('outcomes' in result) {
          // a transaction is counted once, by the reply to its first batch
          if (result.transaction !== undefined) this.count(result.transaction.jobs, result.transaction.ms);
          jobs.forEach((job, i) => {
            const outcome = result.outcomes[i]!;
            if (outcome.ok) {
              const value = outcome.value as PublishResult;
              // the worker leaves out the manifest this side sent (write-worker.ts, lean)
              if (value.created) value.row.signed_manifest = job.job.signedManifest;
              job.resolve(value);
            }
            else job.reject(outcome.error);
          });
        } else for (const job of jobs) job.reject(result.error);
        if (this.pending.length > 0) this.flush();
        else this.notifyIdle();
      },
    );
  }

  private count(n: number, ms: number): void {
    this.stats.batches++;
    this.stats.transactionMs += ms;
    this.stats.jobs += n;
    if (n > this.stats.largestBatch) this.stats.largestBatch = n;
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && !this.scheduled && this.inFlight === 0 && !this.localRunning;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The compiled write worker next to this module, when there is one: undefined when the registry
 * runs from its TypeScript sources (vitest), whose worker thread could not load them; the same
 * batches then commit on the event loop's connection, with the same guarantees.
 */
export function writeWorkerUrl(): URL | undefined {
  const url = new URL('./write-worker.js', import.meta.url);
  return import.meta.url.endsWith('.js') && existsSync(fileURLToPath(url)) ? url : undefined;
}

const storeClosed = (): Error => new Error('the registry store is closed');

const writerUnavailable = (cause: Error): RegistryError =>
  new RegistryError('WRITER_UNAVAILABLE', 'the registry cannot write publishes now (its write worker is down); retry later, an identical republish is idempotent', {
    cause,
    headers: { 'Retry-After': '5' },
  });

type BatchResult = { outcomes: Outcome[]; transaction: { jobs: number; ms: number } | undefined } | { error: unknown };

/** The event loop's side of the write worker: batches in flight, replies matched by id. */
class WorkerHandle {
  private readonly worker: Worker;
  private readonly closed = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private readonly waiting = new Map<number, (result: BatchResult) => void>();
  private failure: Error | undefined;
  /** True once the worker has opened its connection. */
  ready = false;

  constructor(url: URL, where: { path: string; logOrigin: string }, stats: WriteQueueStats, onDeath: (error: Error) => void) {
    const data: WriteWorkerData = { ...where, closed: this.closed.buffer as SharedArrayBuffer };
    this.worker = new Worker(url, { workerData: data });
    // the worker never keeps the process alive: shutdown closes it through the store
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') {
        this.ready = true;
        stats.journalMode = m.journalMode;
        stats.synchronous = m.synchronous;
        return;
      }
      const settle = this.waiting.get(m.id);
      if (settle === undefined) return;
      this.waiting.delete(m.id);
      if (m.type === 'done')
        settle({
          transaction: m.transaction,
          outcomes: m.outcomes.map((o) => (o.ok ? { ok: true, value: o.value } : { ok: false, error: fromWireError(o.error) })),
        });
      else settle({ error: fromWireError(m.error) });
    });
    const fail = (error: Error): void => {
      // the worker is gone (it could not open the store, or crashed): refuse what it held; nothing
      // it did not report as committed is acknowledged (a job it committed before dying is found
      // again by its identical republish). The queue restarts it or reports the writer down.
      const unexpected = this.failure === undefined;
      this.failure ??= error;
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const settle of waiting) settle({ error: writerUnavailable(error) });
      if (unexpected) onDeath(error);
    };
    this.worker.on('error', (error) => fail(new Error(`the write worker failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', (code) => fail(new Error(`the write worker exited (code ${code})`)));
  }

  utilization(previous?: EventLoopUtilization): EventLoopUtilization {
    return previous === undefined ? this.worker.performance.eventLoopUtilization() : this.worker.performance.eventLoopUtilization(previous);
  }

  /** Ends the thread now, as a crash would (its 'exit' handler then runs fail). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  run(jobs: PublishJob[], atMs: number, settle: (result: BatchResult) => void): void {
    if (this.failure !== undefined) return settle({ error: writerUnavailable(this.failure) });
    const id = this.nextId++;
    this.waiting.set(id, settle);
    this.worker.postMessage({ type: 'batch', id, atMs, jobs } satisfies WorkerRequest);
  }

  close(): void {
    if (this.failure !== undefined) return;
    this.failure = storeClosed();
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    // wait (bounded) for the worker to finish its batches and close its connection, so that the
    // caller's own close is the last one (it checkpoints and removes the WAL)
    Atomics.wait(this.closed, 0, 0, 10_000);
  }
}
