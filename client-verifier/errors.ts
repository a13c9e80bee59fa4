import { EtdiError } from '@etdi/protocol';

/**
 * Stable codes of the client verifier. One per row of the decision table (docs/VERIFIER.md, "The
 * client's decision before an invocation") plus the operational ones. A host may switch on
 * them; they never change meaning.
 */
export type VerificationErrorCode =
  // signature and signer (decision table rows 1-3)
  | 'UNSIGNED'
  | 'BAD_SIGNATURE'
  | 'UNTRUSTED_SIGNER'
  | 'NAMESPACE_MISMATCH'
  | 'KEY_REVOKED'
  // the live definition against the signed one (row 4)
  | 'DEFINITION_MISMATCH'
  // pins (rows 5-11); the "needs approval" ones are normally decisions, see verify-tool.ts
  | 'NEEDS_APPROVAL'
  | 'NEW_VERSION'
  | 'PERMISSION_ESCALATION'
  | 'RUG_PULL'
  | 'ROLLBACK'
  | 'PROVIDER_CHANGED'
  | 'REVOKED'
  // transparency log (rows 12-13)
  | 'NOT_LOGGED'
  | 'LOG_INCONSISTENT'
  // names (rows 14-15)
  | 'SQUAT'
  | 'SHADOWED'
  // registry attestation and policy (rows 16-17)
  | 'ATTESTATION_INVALID'
  | 'POLICY_DENIED'
  // trust bootstrap: the registry's keys are not the ones the host expected (fetchTrust)
  | 'TRUST_MISMATCH'
  // operational
  | 'REGISTRY_UNAVAILABLE'
  | 'RESPONSE_TOO_LARGE'
  | 'LOCKFILE_CORRUPT'
  | 'SCHEMA_INVALID'
  | 'UNKNOWN_TOOL'
  // an unexpected failure (a bug or the environment): the tool is withheld, never reported as a finding
  | 'INTERNAL';

/** What the verifier expected against what it got, plus anything else a person needs to act. */
export interface VerificationEvidence {
  expected?: unknown;
  got?: unknown;
  toolId?: string;
  toolName?: string;
  version?: string;
  [key: string]: unknown;
}

/**
 * The one error class of the client verifier. `code` is stable; `message` says what happened
 * and what to do; `evidence` carries expected vs got.
 */
export class VerificationError extends EtdiError {
  override readonly name = 'VerificationError';
  declare readonly code: VerificationErrorCode;
  declare readonly evidence: VerificationEvidence;

  constructor(code: VerificationErrorCode, message: string, evidence: VerificationEvidence = {}, options: { cause?: unknown } = {}) {
    super(code, message, { cause: options.cause, evidence });
  }

  /** A plain JSON view (for withheld-tool reports, audit output and logs). */
  toJSON(): { code: VerificationErrorCode; message: string; evidence: VerificationEvidence } {
    return { code: this.code, message: this.message, evidence: this.evidence };
  }
}

/** True for a VerificationError, optionally of one code. */
export function isVerificationError(value: unknown, code?: VerificationErrorCode): value is VerificationError {
  return value instanceof VerificationError && (code === undefined || value.code === code);
}
