import { ERROR_CODES, EXIT_CODES, type ErrorCode, type ErrorKind } from './error-codes.js';

/**
 * The one base of every error the project throws on purpose: a stable `code` from the one table
 * (error-codes.ts), which gives its HTTP status, its kind and its CLI exit code; a message that
 * names the fix; the evidence (expected vs got) and the cause.
 */
export class EtdiError extends Error {
  override readonly name: string = 'EtdiError';
  readonly code: ErrorCode;
  readonly evidence: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; evidence?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.evidence = options.evidence ?? {};
  }

  /** The HTTP status of a problem document carrying this code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get kind(): ErrorKind {
    return ERROR_CODES[this.code].kind;
  }

  /** What `etdi` exits with: 1 for a refusal, 2 for usage and operational errors. */
  get exitCode(): 1 | 2 {
    return EXIT_CODES[this.kind];
  }
}

/** Stable codes of the protocol layer: parsing, canonical form, keys and signatures. */
export type ProtocolErrorCode =
  | 'INVALID_JSON'
  | 'DUPLICATE_KEY'
  | 'LONE_SURROGATE'
  | 'NUMBER_OUT_OF_RANGE'
  | 'NOT_CANONICALIZABLE'
  | 'TOO_LARGE'
  | 'TOO_DEEP'
  | 'SCHEMA_INVALID'
  | 'INVALID_KEY'
  | 'UNSIGNED'
  | 'UNKNOWN_SIGNER'
  | 'BAD_SIGNATURE'
  // a SEP-3140 declaration that is not the one its manifest lists
  | 'DEFINITION_MISMATCH'
  // transparency log (RFC 9162 proofs, C2SP signed-note and tlog-checkpoint)
  | 'BAD_INCLUSION_PROOF'
  | 'BAD_CONSISTENCY_PROOF'
  | 'MALFORMED_NOTE'
  | 'MALFORMED_CHECKPOINT';

export interface SchemaIssue {
  path: string;
  message: string;
}

export class ProtocolError extends EtdiError {
  override readonly name = 'ProtocolError';
  declare readonly code: ProtocolErrorCode;
  /** Field-level reasons, for SCHEMA_INVALID. */
  readonly issues: readonly SchemaIssue[];

  constructor(code: ProtocolErrorCode, message: string, options: { cause?: unknown; issues?: SchemaIssue[] } = {}) {
    super(code, message, { cause: options.cause });
    this.issues = options.issues ?? [];
  }
}
