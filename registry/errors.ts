import { EtdiError, ProtocolError, type SchemaIssue } from '@etdi/protocol';

/** Stable codes of the registry: each is served as the `code` of an RFC 9457 problem document. */
export type RegistryErrorCode =
  // request shape and transport
  | 'INVALID_JSON'
  | 'DUPLICATE_KEY'
  | 'SCHEMA_INVALID'
  | 'TOO_LARGE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'BUNDLE_SET_TOO_LARGE'
  // authentication and authorisation
  | 'UNAUTHENTICATED'
  /** An administrator token sent to a registry that has none configured. */
  | 'ADMIN_NOT_CONFIGURED'
  /** A publisher token this registry issued, past its `exp`: get a new one. */
  | 'TOKEN_EXPIRED'
  | 'FORBIDDEN'
  // statements (registration, key add, token request)
  | 'WRONG_REGISTRY'
  | 'STATEMENT_STALE'
  | 'STATEMENT_REPLAYED'
  | 'BAD_PROOF'
  // namespaces and keys
  | 'NAMESPACE_EXISTS'
  | 'NAMESPACE_LOOKALIKE'
  | 'NAMESPACE_NOT_FOUND'
  | 'DOMAIN_NOT_VERIFIED'
  | 'NAMESPACE_IS_ADDRESS'
  /** A DNS domain proof, and no DNS resolver configured (config.dnsProofServers). */
  | 'DNS_PROOF_NOT_CONFIGURED'
  | 'KEY_EXISTS'
  | 'KEY_NOT_FOUND'
  | 'KEY_REVOKED'
  | 'REVOCATION_NEEDS_ADMIN'
  | 'KEY_ALREADY_REVOKED'
  // publishing
  | 'UNSIGNED'
  | 'BAD_SIGNATURE'
  | 'INVALID_KEY'
  | 'UNTRUSTED_SIGNER'
  | 'NAMESPACE_MISMATCH'
  | 'ISSUED_IN_FUTURE'
  | 'VERSION_EXISTS'
  | 'VERSION_NOT_HIGHER'
  | 'TOO_MANY_VERSIONS'
  | 'TOO_MANY_TOOLS'
  | 'POLICY_INVALID'
  // publishing a SEP-3140 capability manifest (POST /v1/declarations)
  | 'MANIFEST_EXPIRED'
  | 'DEFINITION_MISMATCH'
  | 'UNKNOWN_TRUST_LABEL'
  // reading and revocation
  | 'TOOL_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_ALREADY_REVOKED'
  // service
  | 'SHUTTING_DOWN'
  | 'OVERLOADED'
  | 'WRITER_UNAVAILABLE'
  | 'STORE_BUSY'
  | 'INTERNAL';

export interface RegistryErrorOptions {
  cause?: unknown;
  /** Field-level reasons (schema issues, Cedar diagnostics). */
  errors?: SchemaIssue[] | { path?: string; message: string }[];
  /** Extra members of the problem document (expected vs got, the existing namespace, ...). */
  evidence?: Record<string, unknown>;
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  headers?: Record<string, string>;
}

/** The registry's error class: a stable code (its HTTP status comes from the one table), the evidence, extra headers. */
export class RegistryError extends EtdiError {
  override readonly name = 'RegistryError';
  declare readonly code: RegistryErrorCode;
  readonly errors: readonly { path?: string; message: string }[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: RegistryErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(code, message, { cause: options.cause, ...(options.evidence ? { evidence: options.evidence } : {}) });
    this.errors = options.errors ?? [];
    this.headers = options.headers ?? {};
  }
}

/** Maps the protocol layer's typed errors onto HTTP; anything else is not ours to explain (500). */
export function toRegistryError(error: unknown): RegistryError | undefined {
  if (error instanceof RegistryError) return error;
  if (error instanceof ProtocolError) {
    switch (error.code) {
      case 'INVALID_JSON':
      case 'LONE_SURROGATE':
      case 'NUMBER_OUT_OF_RANGE':
      case 'NOT_CANONICALIZABLE':
        return new RegistryError('INVALID_JSON', error.message, { cause: error });
      case 'DUPLICATE_KEY':
        return new RegistryError('DUPLICATE_KEY', error.message, { cause: error });
      case 'TOO_LARGE':
      case 'TOO_DEEP':
        return new RegistryError('TOO_LARGE', error.message, { cause: error });
      case 'SCHEMA_INVALID':
        return new RegistryError('SCHEMA_INVALID', error.message, { cause: error, errors: [...error.issues] });
      case 'INVALID_KEY':
        return new RegistryError('INVALID_KEY', error.message, { cause: error });
      case 'UNSIGNED':
        return new RegistryError('UNSIGNED', error.message, { cause: error });
      case 'UNKNOWN_SIGNER':
        // the signature may be fine; the signer is not a key of this namespace
        return new RegistryError('UNTRUSTED_SIGNER', error.message, { cause: error });
      case 'BAD_SIGNATURE':
        return new RegistryError('BAD_SIGNATURE', error.message, { cause: error });
      case 'DEFINITION_MISMATCH':
        return new RegistryError('DEFINITION_MISMATCH', error.message, { cause: error });
    }
  }
  return undefined;
}
