/**
 * The one table of error codes of the whole project: the protocol layer, the client verifier,
 * the registry (served as the `code` of RFC 9457 problem documents) and the command line. Each
 * code has one HTTP status and one kind, and the kind decides the CLI's exit code:
 *
 * - `refusal`: something was checked and refused (a rejected tool, a refused publish): exit 1;
 * - `usage`: the caller must change the request or the command (a bad flag, an unknown name): exit 2;
 * - `operational`: the environment failed (network, 429, 5xx, a corrupt local file): retry or fix it, exit 2.
 *
 * A code never changes meaning; hosts and CI jobs switch on them. test/protocol/error-codes.test.ts
 * checks this table against every error class's code union.
 */
export type ErrorKind = 'refusal' | 'usage' | 'operational';

interface CodeSpec {
  readonly status: number;
  readonly kind: ErrorKind;
}

const refusal = (status: number): CodeSpec => ({ status, kind: 'refusal' });
const usage = (status: number): CodeSpec => ({ status, kind: 'usage' });
const operational = (status: number): CodeSpec => ({ status, kind: 'operational' });

export const ERROR_CODES = {
  // documents: strict I-JSON, canonical form, shape (protocol; registry requests)
  INVALID_JSON: refusal(400),
  DUPLICATE_KEY: refusal(400),
  LONE_SURROGATE: refusal(400),
  NUMBER_OUT_OF_RANGE: refusal(400),
  NOT_CANONICALIZABLE: refusal(400),
  TOO_LARGE: refusal(422),
  TOO_DEEP: refusal(422),
  SCHEMA_INVALID: refusal(422),
  PAYLOAD_TOO_LARGE: refusal(413),
  UNSUPPORTED_MEDIA_TYPE: refusal(415),
  BAD_REQUEST: refusal(400),
  // a bundle set costing more than the whole rate-limit bucket: split it (never retried as is)
  BUNDLE_SET_TOO_LARGE: usage(413),
  // keys and signatures (decision table rows 1-3)
  INVALID_KEY: refusal(422),
  UNSIGNED: refusal(422),
  BAD_SIGNATURE: refusal(422),
  UNKNOWN_SIGNER: refusal(403),
  UNTRUSTED_SIGNER: refusal(403),
  NAMESPACE_MISMATCH: refusal(403),
  KEY_REVOKED: refusal(403),
  ISSUED_IN_FUTURE: refusal(422),
  // the live definition and the pins (rows 4-11)
  DEFINITION_MISMATCH: refusal(409),
  NEEDS_APPROVAL: refusal(403),
  NEW_VERSION: refusal(403),
  PERMISSION_ESCALATION: refusal(403),
  RUG_PULL: refusal(409),
  ROLLBACK: refusal(409),
  PROVIDER_CHANGED: refusal(409),
  REVOKED: refusal(410),
  // transparency log (rows 12-13; RFC 9162 proofs, C2SP notes)
  NOT_LOGGED: refusal(422),
  LOG_INCONSISTENT: refusal(409),
  BAD_CHECKPOINT: refusal(422),
  BAD_INCLUSION_PROOF: refusal(422),
  BAD_CONSISTENCY_PROOF: refusal(422),
  MALFORMED_NOTE: refusal(422),
  MALFORMED_CHECKPOINT: refusal(422),
  LOG_BAD_REQUEST: refusal(400),
  LOG_NOT_FOUND: usage(404),
  LOG_CORRUPT: operational(500),
  LOG_CONFIG: operational(500),
  // names (rows 14-15)
  SQUAT: refusal(409),
  SHADOWED: refusal(409),
  // SEP-3140 capability manifests (docs/VERIFIER.md, "SEP-3140 servers")
  // a manifest whose `server` is not the canonical URI of the server it came from (cross-server replay)
  WRONG_SERVER: refusal(422),
  // a manifest past its `expiresAt` (clock skew allowed): the server must serve a fresh one
  MANIFEST_EXPIRED: refusal(422),
  // trust on first use: the publisher's signing keys are not the ones first seen (an alert, not a rotation to accept silently)
  SIGNER_CHANGED: refusal(409),
  // a discovery URL refused before any request (not https, a private address, a redirect to another host)
  DISCOVERY_REFUSED: refusal(403),
  // the Protected Resource Metadata or JWKS could not be fetched or read (network, status, size, time)
  DISCOVERY_FAILED: operational(502),
  // a trust label value outside SEP-3140's closed vocabulary
  UNKNOWN_TRUST_LABEL: refusal(422),
  // attestation, policy, trust (rows 16-17; trust bootstrap)
  ATTESTATION_INVALID: refusal(403),
  POLICY_DENIED: refusal(403),
  POLICY_INVALID: refusal(422),
  TRUST_MISMATCH: refusal(403),
  // authentication and statements (registry)
  UNAUTHENTICATED: refusal(401),
  // two 401s with one fix each: get a new publisher token; configure an administrator token
  TOKEN_EXPIRED: refusal(401),
  ADMIN_NOT_CONFIGURED: refusal(401),
  FORBIDDEN: refusal(403),
  WRONG_REGISTRY: refusal(422),
  STATEMENT_STALE: refusal(422),
  STATEMENT_REPLAYED: refusal(409),
  BAD_PROOF: refusal(422),
  // namespaces, keys, versions (registry)
  NAMESPACE_EXISTS: refusal(409),
  NAMESPACE_LOOKALIKE: refusal(409),
  DOMAIN_NOT_VERIFIED: refusal(403),
  NAMESPACE_IS_ADDRESS: refusal(422),
  // a DNS domain proof sent to a registry with no DNS resolver configured (config.dnsProofServers):
  // prove the domain over HTTP instead, or ask for an admin grant
  DNS_PROOF_NOT_CONFIGURED: refusal(501),
  REVOCATION_NEEDS_ADMIN: refusal(403),
  KEY_EXISTS: refusal(409),
  KEY_ALREADY_REVOKED: refusal(409),
  VERSION_EXISTS: refusal(409),
  VERSION_NOT_HIGHER: refusal(409),
  VERSION_ALREADY_REVOKED: refusal(409),
  TOO_MANY_VERSIONS: refusal(409),
  TOO_MANY_TOOLS: refusal(409),
  // names that do not exist: the caller named the wrong thing
  NOT_FOUND: usage(404),
  NAMESPACE_NOT_FOUND: usage(404),
  KEY_NOT_FOUND: usage(404),
  TOOL_NOT_FOUND: usage(404),
  VERSION_NOT_FOUND: usage(404),
  // a live tool the registry does not know: a finding about that tool, not a typo
  UNKNOWN_TOOL: refusal(404),
  // the environment
  RATE_LIMITED: operational(429),
  REGISTRY_UNAVAILABLE: operational(502),
  RESPONSE_TOO_LARGE: operational(502),
  LOCKFILE_CORRUPT: operational(500),
  SHUTTING_DOWN: operational(503),
  OVERLOADED: operational(503),
  WRITER_UNAVAILABLE: operational(503),
  // every database connection of this process is busy and the wait queue is full (PostgreSQL store)
  STORE_BUSY: operational(503),
  INTERNAL: operational(500),
  // the command line's own
  USAGE: usage(400),
  OPERATIONAL: operational(500),
  REFUSED: refusal(403),
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The exit code of each kind: 0 is success, never an error. */
export const EXIT_CODES = { refusal: 1, usage: 2, operational: 2 } as const satisfies Record<ErrorKind, 1 | 2>;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * The kind of an answer a remote registry gave: by its code when the code is ours, else by its
 * HTTP status (a newer registry's code): 429 and 5xx are operational, other 4xx refusals.
 */
export function kindOfAnswer(status: number, code: unknown): ErrorKind {
  if (isErrorCode(code)) return ERROR_CODES[code].kind;
  return status === 429 || status >= 500 ? 'operational' : 'refusal';
}
