import { RegistryError, type RegistryErrorCode } from '../errors.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import type { Store, StoreTx } from '../store/types.js';
import { checkPublish, writePublish, type PublishJob } from './publish-job.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A state change: its checks, then its writes, on the transaction it is given. */
export type WriteJob = (tx: StoreTx) => Promise<unknown>;

/**
 * One group commit, the same on every store and on the write worker's connection: every job runs
 * in ONE transaction, each in its own savepoint, so
 * - a job that refuses (throws) leaves no trace (its rows and log leaves roll back with its
 *   savepoint: the log keeps no state outside the store) and does not affect the others;
 * - each job sees the state including the earlier jobs of its batch (version order, replays);
 * - `beforeCommit` (the log signs its checkpoint) runs last inside the transaction: the note
 *   commits with its leaves and reaches nobody before them;
 * - the store's COMMIT returns only when the commit is on stable storage (SQLite: WAL with
 *   synchronous = FULL; PostgreSQL: synchronous_commit on), and no other connection sees it
 *   before: no reader, and no acknowledgement (which waits for this function), sees a write a
 *   machine crash can undo.
 * Throws (and rolls back every job) when the transaction itself fails; the caller rejects all.
 */
export async function runBatch(store: Store, jobs: readonly WriteJob[], beforeCommit: (tx: StoreTx) => Promise<unknown>): Promise<Outcome[]> {
  return store.transaction(async (tx) => {
    const outcomes: Outcome[] = [];
    for (const run of jobs) {
      try {
        outcomes.push({ ok: true, value: await tx.savepoint(() => run(tx)) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    if (outcomes.some((o) => o.ok)) await beforeCommit(tx);
    return outcomes;
  });
}

/**
 * runBatch for publishes, without a savepoint per job (each costs SQLite a copy of every page the
 * job touches into its statement journal). It needs none: checkPublish only reads and refuses
 * before the job's first write, and a throw once writePublish has started (I/O, constraint:
 * nothing a request can cause) aborts and rolls back the whole batch. Same guarantees otherwise:
 * one transaction, each job seeing the earlier ones, the checkpoint signed last inside it.
 */
export async function runPublishBatch(store: Store, log: TransparencyLog, jobs: readonly { job: PublishJob; atMs: number }[]): Promise<Outcome[]> {
  return store.transaction(async (tx) => {
    const outcomes: Outcome[] = [];
    for (const { job, atMs } of jobs) {
      let checked: Awaited<ReturnType<typeof checkPublish>>;
      try {
        checked = await checkPublish(tx, job, atMs);
      } catch (error) {
        outcomes.push({ ok: false, error });
        continue;
      }
      outcomes.push({ ok: true, value: 'done' in checked ? checked.done : await writePublish(tx, log, checked.plan) });
    }
    if (outcomes.some((o) => o.ok)) await log.signCheckpoint(tx);
    return outcomes;
  });
}

/** An error as it crosses from the write worker to the event loop (structured clone keeps no class). */
export type WireError =
  | {
      registry: {
        code: RegistryErrorCode;
        message: string;
        errors: { path?: string; message: string }[];
        evidence: Record<string, unknown>;
        headers: Record<string, string>;
      };
    }
  | { internal: { name: string; message: string; stack: string | undefined; code: unknown } };

export function toWireError(error: unknown): WireError {
  if (error instanceof RegistryError)
    return {
      registry: {
        code: error.code,
        message: error.message,
        errors: [...error.errors],
        evidence: { ...error.evidence },
        headers: { ...error.headers },
      },
    };
  const e = error instanceof Error ? error : new Error(String(error));
  return { internal: { name: e.name, message: e.message, stack: e.stack, code: (e as { code?: unknown }).code } };
}

/** The same RegistryError (code, evidence) again; anything else stays an opaque 500. */
export function fromWireError(wire: WireError): Error {
  if ('registry' in wire) {
    const r = wire.registry;
    return new RegistryError(r.code, r.message, { errors: r.errors, evidence: r.evidence, headers: r.headers });
  }
  const error = new Error(`write worker: ${wire.internal.name}: ${wire.internal.message}`);
  if (wire.internal.stack !== undefined) error.stack = `${error.message}\n[write worker] ${wire.internal.stack}`;
  return error;
}
