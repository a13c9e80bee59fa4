import { EtdiError } from '@etdi/protocol';

/**
 * Stable codes of the client verifier. One per outcome of the steps of docs/VERIFIER.md ("What
 * is verified, in order") plus the operational ones. A host may switch on
 * them; they never change meaning.
 */
export type VerificationErrorCode =
  // signature, signer and ownership (docs/VERIFIER.md steps 2, 4-7)
  | 'UNSIGNED'
  | 'BAD_SIGNATURE'
  | 'UNTRUSTED_SIGNER'
  | 'NAMESPACE_MISMATCH'
  | 'KEY_REVOKED'
  // the live definition against the signed one (step 8)
  | 'DEFINITION_MISMATCH'
  // pins (step 12, and REVOKED step 9); the "needs approval" ones are normally decisions, see pins.ts
  | 'NEEDS_APPROVAL'
  | 'NEW_VERSION'
  | 'PERMISSION_ESCALATION'
  | 'RUG_PULL'
  | 'ROLLBACK'
  | 'PROVIDER_CHANGED'
  | 'REVOKED'
  // transparency log (step 10)
  | 'NOT_LOGGED'
  | 'LOG_INCONSISTENT'
  // names (step 12; SHADOWED: VerifiedClientGroup)
  | 'SQUAT'
  | 'SHADOWED'
  // registry attestation (step 11) and policy (step 13)
  | 'ATTESTATION_INVALID'
  | 'POLICY_DENIED'
  // trust bootstrap: the registry's keys are not the ones the host expected (fetchTrust)
  | 'TRUST_MISMATCH'
  // SEP-3140 capability manifests (docs/VERIFIER.md, "SEP-3140 servers")
  | 'UNKNOWN_SIGNER'
  | 'ISSUED_IN_FUTURE'
  | 'WRONG_SERVER'
  | 'MANIFEST_EXPIRED'
  | 'SIGNER_CHANGED'
  | 'DISCOVERY_REFUSED'
  | 'UNKNOWN_TRUST_LABEL'
  // operational
  | 'DISCOVERY_FAILED'
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
