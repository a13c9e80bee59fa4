/**
 * The write worker: a worker thread with its own connection to the registry's SQLite file, which
 * runs the publish batches the event loop's WriteQueue sends it (write-queue.ts). It exists so
 * that the commit's fsync and the batch's SQL run on the other core while the event loop parses,
 * authenticates and verifies the next publishes. Durability is the event loop's: WAL with
 * `synchronous = FULL` (SqliteStore.open), one transaction per batch (write-batch.ts).
 *
 * Messages in:  { type: 'batch', id, atMs, jobs: PublishJob[] } | { type: 'close' }
 * Messages out: { type: 'ready', journalMode, synchronous } | { type: 'done', id, outcomes }
 *             | { type: 'failed', id, error } (the whole transaction rolled back)
 * Batches that queue up while a commit runs are committed together in the next transaction.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { TransparencyLog } from '../log/transparency-log.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { PublishJob, PublishResult } from './publish-job.js';
import { runPublishBatch, toWireError, type Outcome, type WireError } from './write-batch.js';

export interface WriteWorkerData {
  path: string;
  logOrigin: string;
  /** Int32 flag set to 1 (and notified) once this worker's connection is closed. */
  closed: SharedArrayBuffer;
}

export type WorkerRequest = { type: 'batch'; id: number; atMs: number; jobs: PublishJob[] } | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; journalMode: string; synchronous: number }
  | {
      type: 'done';
      id: number;
      /** Set on the first batch of a transaction: how many jobs it committed (all batches), and its time. */
      transaction: { jobs: number; ms: number } | undefined;
      outcomes: ({ ok: true; value: unknown } | { ok: false; error: WireError })[];
    }
  | { type: 'failed'; id: number; error: WireError };

const port = parentPort;
if (port === null) throw new Error('write-worker.js runs only as a worker thread (see write-queue.ts)');
const data = workerData as WriteWorkerData;
const closed = new Int32Array(data.closed);
const store = SqliteStore.open({ path: data.path });
const log = await TransparencyLog.open(store, { origin: data.logOrigin });
const reply = (m: WorkerReply): void => port.postMessage(m);
reply({
  type: 'ready',
  journalMode: store.writeConnection.pragma('journal_mode', { simple: true }) as string,
  synchronous: store.writeConnection.pragma('synchronous', { simple: true }) as number,
});

/** Jobs per transaction at most: a bound on one commit's time, whatever the backlog. */
const MAX_BATCH_JOBS = 512;

/** True while a commit runs: messages arriving then wait in the port for the next transaction. */
let busy = false;

port.on('message', (first: WorkerRequest) => {
  if (busy) {
    backlog.push(first);
    return;
  }
  busy = true;
  void drain(first).finally(() => (busy = false));
});

/** Messages that arrived through 'message' while a commit ran (the rest wait in the port). */
const backlog: WorkerRequest[] = [];

async function drain(first: WorkerRequest): Promise<void> {
  // group commit across messages: the batches the event loop sent while the previous commit
  // ran are waiting in the port; they go into one transaction (up to MAX_BATCH_JOBS jobs)
  const take = (): WorkerRequest | undefined => backlog.shift() ?? (receiveMessageOnPort(port!)?.message as WorkerRequest | undefined);
  let queued: WorkerRequest | undefined = first;
  while (queued !== undefined) {
    const batches: Extract<WorkerRequest, { type: 'batch' }>[] = [];
    let jobs = 0;
    let close = false;
    while (queued !== undefined) {
      if (queued.type === 'close') close = true;
      else {
        batches.push(queued);
        jobs += queued.jobs.length;
      }
      queued = jobs < MAX_BATCH_JOBS && !close ? take() : undefined;
    }
    if (batches.length > 0) await commit(batches, jobs);
    if (close) {
      await store.close();
      Atomics.store(closed, 0, 1);
      Atomics.notify(closed, 0);
      port!.close();
      return;
    }
    queued = take(); // what arrived during this commit
  }
}

/**
 * A new version's row goes back without its signed manifest (the event loop sent it and puts it
 * back: WriteQueue): 2-3 KB less to copy each way. An idempotent republish's row is the stored one.
 */
const lean = (result: PublishResult): PublishResult =>
  result.created ? { created: true, row: { ...result.row, signed_manifest: '' } } : result;

/** One transaction for the jobs of `batches`; one reply per batch, the first carrying the size. */
async function commit(batches: Extract<WorkerRequest, { type: 'batch' }>[], size: number): Promise<void> {
  let outcomes: Outcome[];
  const started = performance.now();
  try {
    outcomes = await runPublishBatch(
      store,
      log,
      batches.flatMap((b) => b.jobs.map((job) => ({ job, atMs: b.atMs }))),
    );
  } catch (error) {
    const wire = toWireError(error);
    for (const b of batches) reply({ type: 'failed', id: b.id, error: wire });
    return;
  }
  const ms = performance.now() - started;
  let i = 0;
  batches.forEach((b, n) => {
    const mine = outcomes.slice(i, (i += b.jobs.length));
    reply({
      type: 'done',
      id: b.id,
      transaction: n === 0 ? { jobs: size, ms } : undefined,
      outcomes: mine.map((o) => (o.ok ? { ok: true as const, value: lean(o.value as PublishResult) } : { ok: false as const, error: toWireError(o.error) })),
    });
  });
}
