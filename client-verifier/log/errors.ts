import { EtdiError } from '@etdi/protocol';

/**
 * Codes of the client-side log checks (docs/VERIFIER.md, step 10: the record not in the log or a
 * bad inclusion proof, and a new checkpoint inconsistent with the stored one). The client verifier
 * maps them into its own VerificationError with the same code names.
 */
export type LogVerificationErrorCode =
  /** The record has no valid inclusion proof in a checkpoint the log signed. */
  | 'NOT_LOGGED'
  /** Two checkpoints of the log cannot both be true: a fork, a split view or a rollback. */
  | 'LOG_INCONSISTENT'
  /** The checkpoint note is malformed, of another log, or not signed by the trusted log key. */
  | 'BAD_CHECKPOINT';

export interface LogVerificationEvidence {
  expected?: unknown;
  got?: unknown;
  [key: string]: unknown;
}

export class LogVerificationError extends EtdiError {
  override readonly name = 'LogVerificationError';
  declare readonly code: LogVerificationErrorCode;
  declare readonly evidence: LogVerificationEvidence;

  constructor(code: LogVerificationErrorCode, message: string, evidence: LogVerificationEvidence = {}, options: { cause?: unknown } = {}) {
    super(code, message, { cause: options.cause, evidence });
  }
}
