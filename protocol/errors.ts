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
  // transparency log (RFC 9162 proofs, C2SP signed-note and tlog-checkpoint)
  | 'BAD_INCLUSION_PROOF'
  | 'BAD_CONSISTENCY_PROOF'
  | 'MALFORMED_NOTE'
  | 'MALFORMED_CHECKPOINT';

export interface SchemaIssue {
  path: string;
  message: string;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** Field-level reasons, for SCHEMA_INVALID. */
  readonly issues: readonly SchemaIssue[];

  constructor(code: ProtocolErrorCode, message: string, options: { cause?: unknown; issues?: SchemaIssue[] } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }
}
