import type { LockfileCheckpoint, LogEvidence } from '@etdi/schemas';
import { parseVerifierKey, type NoteVerifierKey } from '@etdi/protocol';
import { VerificationError } from './errors.js';
import { CheckpointCache, CheckpointStore, LogVerificationError, verifyInclusionEvidence, type FetchConsistencyProof } from './log/index.js';
import type { RegistryClient } from './registry-client.js';
import type { StatefulLogChecker } from './verifier.js';

export interface LogCheckerOptions {
  /** The pinned C2SP note verifier key of the registry's log. */
  logKey: string;
  /** The checkpoint origin line the log must use (checked when given). */
  origin?: string;
  /** The newest checkpoint verified before (from the lockfile): later ones must extend it. */
  checkpoint?: LockfileCheckpoint;
  /** Where consistency proofs come from; default the registry client's. */
  fetchConsistencyProof?: FetchConsistencyProof;
  registry?: RegistryClient;
}

/** Maps the log helper's errors to the verifier's (same code names; a bad checkpoint means "not shown to be logged"). */
function mapLogError(error: unknown): never {
  if (error instanceof LogVerificationError) {
    const code = error.code === 'LOG_INCONSISTENT' ? 'LOG_INCONSISTENT' : 'NOT_LOGGED';
    const advice =
      code === 'LOG_INCONSISTENT'
        ? 'the registry is showing a different history than before (fork or split view); stop trusting it and alert its operator'
        : 'the record is not proven to be in the transparency log you trust; refuse it';
    throw new VerificationError(code, `${error.message}: ${advice}`, { ...error.evidence, logCode: error.code }, { cause: error });
  }
  throw error;
}

/**
 * The verifier's log check, built on the log helper's client functions: inclusion of the leaf in
 * a checkpoint signed by the pinned log key, then that checkpoint against the newest one this
 * client has seen (CheckpointStore: refuses forks, split views and rollbacks).
 */
export async function createLogChecker(options: LogCheckerOptions): Promise<StatefulLogChecker> {
  // Parsed once: the log functions accept the parsed key, and parsing it per leaf costs a hash.
  let logKey: NoteVerifierKey;
  try {
    logKey = parseVerifierKey(options.logKey);
  } catch (cause) {
    throw new TypeError('createLogChecker: logKey is not a C2SP note verifier key', { cause });
  }
  // One verification per checkpoint note: the hundred bundles of a listing share one checkpoint.
  const verifyOptions = { verified: new CheckpointCache(), ...(options.origin ? { origin: options.origin } : {}) };
  let store: CheckpointStore;
  try {
    store = options.checkpoint
      ? await CheckpointStore.fromNote(logKey, options.checkpoint.note, verifyOptions)
      : new CheckpointStore(logKey, verifyOptions);
  } catch (cause) {
    if (cause instanceof LogVerificationError)
      throw new VerificationError('LOCKFILE_CORRUPT', `the lockfile's checkpoint does not verify under the pinned log key: ${cause.message}`, {}, { cause });
    throw cause;
  }
  const fetchProof: FetchConsistencyProof =
    options.fetchConsistencyProof ??
    (async (from, to) => {
      if (options.registry === undefined)
        throw new VerificationError(
          'REGISTRY_UNAVAILABLE',
          `cannot prove the log checkpoint of size ${to} consistent with the one of size ${from} you saw before: no registry to fetch the consistency proof from`,
          { expected: from, got: to },
        );
      return (await options.registry.getConsistencyProof(from, to)).hashes;
    });
  // The last note the store accepted: a hundred bundles proven against one checkpoint need
  // one consistency decision, not a hundred.
  let accepted: string | undefined;
  return {
    async checkInclusion(leafData: Uint8Array, evidence: LogEvidence): Promise<void> {
      try {
        const checkpoint = await verifyInclusionEvidence(leafData, evidence, logKey, verifyOptions);
        if (checkpoint.note !== accepted) {
          await store.advance(checkpoint.note, fetchProof);
          accepted = checkpoint.note;
        }
      } catch (error) {
        mapLogError(error);
      }
    },
    newestCheckpoint(): LockfileCheckpoint | undefined {
      const c = store.current;
      return c === undefined ? undefined : { origin: c.origin, treeSize: c.size, note: c.note };
    },
  };
}
