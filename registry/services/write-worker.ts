/**
 * The write worker: a worker thread with its own connection to the registry's SQLite file, which
 * runs the publish batches the event loop's WriteQueue sends it (write-queue.ts). It exists so
 * that the commit's fsync and the batch's SQL run on the other core while the event loop parses,
 * authenticates and verifies the next publishes. Durability is the event loop's: WAL with
 * `synchronous = FULL` (RegistryStore.open), one transaction per batch (write-batch.ts).
 *
 * Messages in:  { type: 'batch', id, atMs, jobs: PublishJob[] } | { type: 'close' }
 * Messages out: { type: 'ready', journalMode, synchronous } | { type: 'done', id, outcomes }
 *             | { type: 'failed', id, error } (the whole batch rolled back)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RegistryStore } from '../store/store.js';
import { applyPublish, type PublishJob } from './publish-job.js';
import { runBatch, toWireError, type WireError } from './write-batch.js';

export interface WriteWorkerData {
  path: string;
  logOrigin: string;
  /** Int32 flag set to 1 (and notified) once this worker's connection is closed. */
  closed: SharedArrayBuffer;
}

export type WorkerRequest = { type: 'batch'; id: number; atMs: number; jobs: PublishJob[] } | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; journalMode: string; synchronous: number }
  | { type: 'done'; id: number; outcomes: ({ ok: true; value: unknown } | { ok: false; error: WireError })[] }
  | { type: 'failed'; id: number; error: WireError };

const port = parentPort;
if (port === null) throw new Error('write-worker.js runs only as a worker thread (see write-queue.ts)');
const data = workerData as WriteWorkerData;
const closed = new Int32Array(data.closed);
const store = RegistryStore.open({ path: data.path, logOrigin: data.logOrigin });
const reply = (m: WorkerReply): void => port.postMessage(m);
reply({
  type: 'ready',
  journalMode: store.db.pragma('journal_mode', { simple: true }) as string,
  synchronous: store.db.pragma('synchronous', { simple: true }) as number,
});

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'close') {
    store.close();
    Atomics.store(closed, 0, 1);
    Atomics.notify(closed, 0);
    port.close();
    return;
  }
  try {
    const outcomes = runBatch(
      store,
      m.jobs.map((job) => () => applyPublish(store, job, m.atMs)),
      () => void store.log.checkpoint(),
    );
    reply({
      type: 'done',
      id: m.id,
      outcomes: outcomes.map((o) => (o.ok ? { ok: true as const, value: o.value } : { ok: false as const, error: toWireError(o.error) })),
    });
  } catch (error) {
    reply({ type: 'failed', id: m.id, error: toWireError(error) });
  }
});
