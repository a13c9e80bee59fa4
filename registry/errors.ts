import { ProtocolError, type SchemaIssue } from '@etdi/protocol';

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
  // authentication and authorisation
  | 'UNAUTHENTICATED'
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
  | 'KEY_EXISTS'
  | 'KEY_NOT_FOUND'
  | 'KEY_REVOKED'
  // publishing
  | 'UNSIGNED'
  | 'BAD_SIGNATURE'
  | 'INVALID_KEY'
  | 'UNTRUSTED_SIGNER'
  | 'NAMESPACE_MISMATCH'
  | 'ISSUED_IN_FUTURE'
  | 'VERSION_EXISTS'
  | 'VERSION_NOT_HIGHER'
  | 'POLICY_INVALID'
  // reading and revocation
  | 'TOOL_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_ALREADY_REVOKED'
  // service
  | 'SHUTTING_DOWN'
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

/** The registry's one error class: an HTTP status, a stable code, and the evidence. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly status: number;
  readonly errors: readonly { path?: string; message: string }[];
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: RegistryErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.errors = options.errors ?? [];
    this.evidence = options.evidence ?? {};
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
        return new RegistryError(400, 'INVALID_JSON', error.message, { cause: error });
      case 'DUPLICATE_KEY':
        return new RegistryError(400, 'DUPLICATE_KEY', error.message, { cause: error });
      case 'TOO_LARGE':
      case 'TOO_DEEP':
        return new RegistryError(422, 'TOO_LARGE', error.message, { cause: error });
      case 'SCHEMA_INVALID':
        return new RegistryError(422, 'SCHEMA_INVALID', error.message, { cause: error, errors: [...error.issues] });
      case 'INVALID_KEY':
        return new RegistryError(422, 'INVALID_KEY', error.message, { cause: error });
      case 'UNSIGNED':
        return new RegistryError(422, 'UNSIGNED', error.message, { cause: error });
      case 'UNKNOWN_SIGNER':
        // the signature may be fine; the signer is not a key of this namespace
        return new RegistryError(403, 'UNTRUSTED_SIGNER', error.message, { cause: error });
      case 'BAD_SIGNATURE':
        return new RegistryError(422, 'BAD_SIGNATURE', error.message, { cause: error });
    }
  }
  return undefined;
}
