import { RegistryError, type RegistryErrorCode } from '../errors.js';
import type { RegistryStore } from '../store/store.js';
import { checkPublish, writePublish, type PublishJob } from './publish-job.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * One group commit, the same on the event loop's connection and on the write worker's: every
 * job runs in ONE transaction, each in its own savepoint, so
 * - a job that refuses (throws before writing) leaves no trace and does not affect the others;
 * - each job sees the state including the earlier jobs of its batch (version order, replays);
 * - `beforeCommit` (the log signs its checkpoint) runs last inside the transaction: the note
 *   commits with its leaves and reaches nobody before them;
 * - with `synchronous = FULL`, COMMIT returns only when the WAL is on stable storage, and SQLite
 *   makes a WAL commit visible to other connections only after that sync: no reader (and no
 *   acknowledgement, which waits for this function) ever sees a write a machine crash can undo.
 * Throws (and rolls back every job) when the transaction itself fails; the caller rejects all.
 */
export function runBatch(store: RegistryStore, jobs: readonly (() => unknown)[], beforeCommit: () => void): Outcome[] {
  const outcomes: Outcome[] = [];
  try {
    store.transaction(() => {
      for (const run of jobs) {
        const appendsBefore = store.log.appends;
        try {
          // a nested transaction is a SAVEPOINT: a refused job's rows roll back alone
          outcomes.push({ ok: true, value: store.db.transaction(run)() });
        } catch (error) {
          // a leaf was appended and then the job failed: the log's view is no longer the
          // store's; abort the whole batch rather than commit a leaf without its event
          if (store.log.appends !== appendsBefore) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      if (outcomes.some((o) => o.ok)) beforeCommit();
    });
  } catch (error) {
    store.reopenLog();
    throw error;
  }
  return outcomes;
}

/**
 * runBatch for publishes, without a savepoint per job (each costs SQLite a copy of every page the
 * job touches into its statement journal). It needs none: checkPublish only reads and refuses
 * before the job's first write, and a throw once writePublish has started (I/O, constraint:
 * nothing a request can cause) aborts and rolls back the whole batch, as runBatch does after a
 * leaf was appended. Same guarantees otherwise: one transaction, each job seeing the earlier ones,
 * the checkpoint signed last inside it, COMMIT after the WAL's fsync (synchronous = FULL).
 */
export function runPublishBatch(
  store: RegistryStore,
  jobs: readonly { job: PublishJob; atMs: number }[],
  beforeCommit: () => void,
): Outcome[] {
  const outcomes: Outcome[] = [];
  try {
    store.transaction(() => {
      for (const { job, atMs } of jobs) {
        let checked: ReturnType<typeof checkPublish>;
        try {
          checked = checkPublish(store, job, atMs);
        } catch (error) {
          outcomes.push({ ok: false, error });
          continue;
        }
        outcomes.push({ ok: true, value: 'done' in checked ? checked.done : writePublish(store, checked.plan) });
      }
      if (outcomes.some((o) => o.ok)) beforeCommit();
    });
  } catch (error) {
    store.reopenLog();
    throw error;
  }
  return outcomes;
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
