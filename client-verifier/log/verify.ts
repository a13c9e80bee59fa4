import {
  EMPTY_ROOT,
  bytesEqual,
  fromBase64,
  leafHash,
  parseCheckpoint,
  parseVerifierKey,
  toBase64,
  verifyInclusion,
  verifyNote,
  type Ed25519Backend,
  type NoteVerifierKey,
} from '@etdi/protocol';
import { LogEvidenceSchema, type LogEvidence } from '@etdi/schemas';
import { LogVerificationError } from './errors.js';
import { ProvenNodes } from './proven-nodes.js';

/** A checkpoint whose note verified under the trusted log key. */
export interface VerifiedCheckpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
  /** The signed note exactly as received (what a lockfile stores). */
  note: string;
}

/**
 * What one log client has verified, owned by that client (createLogChecker makes one per
 * checker; two checkers share nothing): checkpoints by note text (a hundred bundles proven
 * against one checkpoint verify its note once; only successes are stored), the verifications
 * under way (callers of one note share it), and the tree nodes earlier inclusion proofs proved
 * per checkpoint. Never share one between different keys or origins.
 */
export class CheckpointCache extends Map<string, VerifiedCheckpoint> {
  /** Verifications of notes under way; a failure is not remembered (the next caller verifies again). */
  readonly inFlight = new Map<string, Promise<VerifiedCheckpoint>>();
  /** Nodes proven by earlier inclusion proofs, per verified checkpoint of this cache. */
  readonly proven = new WeakMap<VerifiedCheckpoint, ProvenNodes>();
}

export interface LogVerifyOptions {
  /** The checkpoint origin line the log must use; unchecked when absent. */
  origin?: string;
  backend?: Ed25519Backend;
  /** Checkpoints already verified with these options and this key (see CheckpointCache). */
  verified?: CheckpointCache;
}

/** A trusted log key: the note verifier key string `<name>+<hex id>+<base64 key>` or its parsed form. */
export type TrustedLogKey = string | NoteVerifierKey;

function toVerifierKey(key: TrustedLogKey): NoteVerifierKey {
  try {
    return typeof key === 'string' ? parseVerifierKey(key) : key;
  } catch (cause) {
    // A bad pinned key is a configuration error, not hostile input: say so plainly.
    throw new TypeError('trustedLogKey is not a valid note verifier key', { cause });
  }
}

/**
 * Verifies a checkpoint note against the trusted log key and parses it. Throws
 * LogVerificationError BAD_CHECKPOINT when the note is malformed, not signed by that key, of
 * another origin, or claims an empty tree with a root other than SHA-256("").
 */
export async function verifyCheckpoint(note: string, trustedLogKey: TrustedLogKey, options: LogVerifyOptions = {}): Promise<VerifiedCheckpoint> {
  const known = options.verified?.get(note);
  if (known !== undefined) return known;
  if (options.verified === undefined) return verifyCheckpointNote(note, trustedLogKey, options);
  // A listing's tools verified together reach here while the first one's note verification is
  // still under way: they share it instead of each verifying the note (the same note, key and
  // options give the same outcome).
  const inFlight = options.verified.inFlight;
  let result = inFlight.get(note);
  if (result === undefined) {
    const settled = inFlight;
    result = verifyCheckpointNote(note, trustedLogKey, options);
    settled.set(note, result);
    result.then(
      () => settled.delete(note),
      () => settled.delete(note), // a failure is not remembered: the next caller tries again
    );
  }
  return result;
}

async function verifyCheckpointNote(note: string, trustedLogKey: TrustedLogKey, options: LogVerifyOptions): Promise<VerifiedCheckpoint> {
  const key = toVerifierKey(trustedLogKey);
  let text: string;
  try {
    text = (await verifyNote(note, [key], options.backend ? { backend: options.backend } : {})).text;
  } catch (cause) {
    throw new LogVerificationError('BAD_CHECKPOINT', 'the checkpoint is not a note signed by the trusted log key', { expected: key.name }, { cause });
  }
  let parsed;
  try {
    parsed = parseCheckpoint(text, options.origin);
  } catch (cause) {
    throw new LogVerificationError('BAD_CHECKPOINT', 'the signed checkpoint is malformed or of another log', { expected: options.origin }, { cause });
  }
  if (parsed.size === 0 && !bytesEqual(parsed.rootHash, EMPTY_ROOT))
    throw new LogVerificationError('BAD_CHECKPOINT', 'an empty tree must have the root SHA-256("")', {
      expected: toBase64(EMPTY_ROOT),
      got: toBase64(parsed.rootHash),
    });
  const verified = { ...parsed, note };
  if (options.verified !== undefined) {
    if (options.verified.size >= 1024) options.verified.clear();
    options.verified.set(note, verified);
  }
  return verified;
}

/**
 * Verifies that `leafData` (JCS(event) bytes) is leaf `evidence.leafIndex` of the tree the
 * evidence's checkpoint signs. Returns that verified checkpoint, which the caller should then
 * hand to its CheckpointStore (a valid proof in a forked tree is still a fork).
 * Throws BAD_CHECKPOINT for the checkpoint, NOT_LOGGED for anything about the proof.
 */
export async function verifyInclusionEvidence(
  leafData: Uint8Array,
  evidence: LogEvidence,
  trustedLogKey: TrustedLogKey,
  options: LogVerifyOptions = {},
): Promise<VerifiedCheckpoint> {
  if (!(leafData instanceof Uint8Array)) throw new TypeError('leafData must be a Uint8Array');
  // zod's output is a copy: what is checked below is read once, whatever the caller does to `evidence`.
  const parsed = LogEvidenceSchema.safeParse(evidence);
  if (!parsed.success) throw new LogVerificationError('NOT_LOGGED', 'the log evidence is malformed', {}, { cause: parsed.error });
  const ev = parsed.data;
  const checkpoint = await verifyCheckpoint(ev.checkpoint, trustedLogKey, options);
  if (ev.inclusionProof.leafIndex !== ev.leafIndex)
    throw new LogVerificationError('NOT_LOGGED', 'the inclusion proof is for another leaf', {
      expected: ev.leafIndex,
      got: ev.inclusionProof.leafIndex,
    });
  // The proof must be against the tree the signed checkpoint commits to, not any other size.
  if (ev.inclusionProof.treeSize !== checkpoint.size)
    throw new LogVerificationError('NOT_LOGGED', 'the inclusion proof is for another tree size than the checkpoint', {
      expected: checkpoint.size,
      got: ev.inclusionProof.treeSize,
    });
  const leaf = leafHash(leafData);
  const proof = ev.inclusionProof.hashes.map(fromBase64);
  // The checkpoints remembered in `options.verified` are shared by every bundle of a listing, and so are their proven nodes.
  const provenNodes = options.verified?.proven;
  let proven = provenNodes?.get(checkpoint);
  if (proven === undefined && provenNodes !== undefined) provenNodes.set(checkpoint, (proven = new ProvenNodes(checkpoint.size, checkpoint.rootHash)));
  if (proven?.verify(leaf, ev.leafIndex, proof)) return checkpoint;
  try {
    verifyInclusion(leaf, ev.leafIndex, checkpoint.size, proof, checkpoint.rootHash);
  } catch (cause) {
    throw new LogVerificationError(
      'NOT_LOGGED',
      `the record is not leaf ${ev.leafIndex} of the log at size ${checkpoint.size}`,
      { leafIndex: ev.leafIndex, treeSize: checkpoint.size, root: toBase64(checkpoint.rootHash) },
      { cause },
    );
  }
  return checkpoint;
}
