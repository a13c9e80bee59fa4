import { bytesEqual, toBase64, verifyConsistency } from '@etdi/protocol';
import { LogVerificationError } from './errors.js';
import { verifyCheckpoint, type LogVerifyOptions, type TrustedLogKey, type VerifiedCheckpoint } from './verify.js';

/** Fetches the RFC 9162 consistency proof between two tree sizes (GET /v1/log/proof/consistency). */
export type FetchConsistencyProof = (fromSize: number, toSize: number) => Promise<Uint8Array[]>;

/**
 * Keeps the newest checkpoint this client verified and refuses any checkpoint that cannot be
 * on the same append-only history (LOG_INCONSISTENT): a later one that does not extend it (the
 * log rewrote history), a same-size one with another root, and an older one that the stored one
 * does not extend (a split view: the log shows this client a different history than before).
 * It never moves back to an older checkpoint (rollback of the log).
 */
export class CheckpointStore {
  private newest: VerifiedCheckpoint | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly trustedLogKey: TrustedLogKey,
    private readonly options: LogVerifyOptions = {},
  ) {}

  /** A store that starts from a previously verified checkpoint note (e.g. from the lockfile). */
  static async fromNote(trustedLogKey: TrustedLogKey, note: string, options: LogVerifyOptions = {}): Promise<CheckpointStore> {
    const store = new CheckpointStore(trustedLogKey, options);
    store.newest = await verifyCheckpoint(note, trustedLogKey, options);
    return store;
  }

  /** The newest verified checkpoint, or undefined before the first one. */
  get current(): VerifiedCheckpoint | undefined {
    return this.newest;
  }

  /**
   * Verifies `newNote` and checks it against the stored checkpoint, fetching a consistency proof
   * when the sizes differ. Keeps the newer of the two. Returns the verified `newNote` checkpoint.
   * Errors from `fetchConsistencyProof` itself (network) propagate unchanged. Calls are serialised.
   */
  advance(newNote: string, fetchConsistencyProof: FetchConsistencyProof): Promise<VerifiedCheckpoint> {
    const run = this.queue.then(() => this.advanceNow(newNote, fetchConsistencyProof));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async advanceNow(newNote: string, fetchConsistencyProof: FetchConsistencyProof): Promise<VerifiedCheckpoint> {
    const next = await verifyCheckpoint(newNote, this.trustedLogKey, this.options);
    const current = this.newest;
    if (current === undefined) {
      this.newest = next;
      return next;
    }
    if (next.size === current.size) {
      if (!bytesEqual(next.rootHash, current.rootHash))
        throw inconsistent('two checkpoints of the same size with different roots: the log forked', current, next);
      return next;
    }
    const [older, newer] = next.size > current.size ? [current, next] : [next, current];
    // Every tree extends the empty tree (whose root verifyCheckpoint pinned to SHA-256("")).
    if (older.size > 0) {
      const proof = await fetchConsistencyProof(older.size, newer.size);
      try {
        verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash);
      } catch (cause) {
        throw inconsistent(
          next.size > current.size
            ? 'the new checkpoint does not extend the stored one: the log rewrote its history'
            : 'the stored checkpoint does not extend this older one: the log shows a different history (split view)',
          current,
          next,
          cause,
        );
      }
    }
    if (next.size > current.size) this.newest = next;
    return next;
  }
}

function inconsistent(message: string, stored: VerifiedCheckpoint, received: VerifiedCheckpoint, cause?: unknown): LogVerificationError {
  return new LogVerificationError(
    'LOG_INCONSISTENT',
    message,
    {
      expected: { size: stored.size, rootHash: toBase64(stored.rootHash) },
      got: { size: received.size, rootHash: toBase64(received.rootHash) },
    },
    { cause },
  );
}
