import {
  KEY_ADD_STATEMENT_TYPE,
  REGISTRATION_STATEMENT_TYPE,
  TOKEN_STATEMENT_TYPE,
  type AddKeyRequest,
  type Ed25519PrivateJwk,
  type RegisterNamespaceRequest,
  type TokenRequest,
} from '@etdi/schemas';
import { toBase64Url } from './encoding.js';
import { canonicalBytes } from './jcs.js';
import { jwkThumbprint, toPublicJwk } from './jwk.js';
import { signBytes } from './manifest.js';

/**
 * The signed statements a provider sends the registry (schemas/registry-api.ts): each names the
 * registry, the namespace, a fresh time and a nonce, so that it is worth nothing at another
 * registry, for another namespace, later, or twice. Signed over JCS(statement), like manifests.
 */
export interface StatementFrame {
  /** The registry's origin (its JWT `iss`). */
  registry: string;
  namespace: string;
  /** Default: now, to the second. */
  issuedAt?: string;
  /** Default: 18 random bytes, base64url. */
  nonce?: string;
}

function frameOf(f: StatementFrame): { registry: string; namespace: string; issuedAt: string; nonce: string } {
  return {
    registry: f.registry,
    namespace: f.namespace,
    issuedAt: f.issuedAt ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    nonce: f.nonce ?? toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(18))),
  };
}

/** POST /v1/namespaces: the first key proves possession by signing the registration. */
export async function registrationRequest(
  key: Ed25519PrivateJwk,
  frame: StatementFrame,
  verification: RegisterNamespaceRequest['verification'] = 'well-known',
): Promise<RegisterNamespaceRequest> {
  const statement = { type: REGISTRATION_STATEMENT_TYPE, ...frameOf(frame), keyId: jwkThumbprint(key) } as const;
  return { statement, jwk: toPublicJwk(key), signature: await signBytes(key, canonicalBytes(statement)), verification };
}

/** POST /v1/tokens: an active key asks for a publisher token. */
export async function tokenRequest(key: Ed25519PrivateJwk, frame: StatementFrame): Promise<TokenRequest> {
  const statement = { type: TOKEN_STATEMENT_TYPE, ...frameOf(frame), keyId: jwkThumbprint(key) } as const;
  return { statement, signature: await signBytes(key, canonicalBytes(statement)) };
}

/** POST /v1/namespaces/:namespace/keys: signed by an active key, with the new key's proof of possession. */
export async function keyAddRequest(authorizer: Ed25519PrivateJwk, fresh: Ed25519PrivateJwk, frame: StatementFrame): Promise<AddKeyRequest> {
  const statement = {
    type: KEY_ADD_STATEMENT_TYPE,
    ...frameOf(frame),
    keyId: jwkThumbprint(fresh),
    jwk: toPublicJwk(fresh),
    authorizedBy: jwkThumbprint(authorizer),
  } as const;
  const bytes = canonicalBytes(statement);
  return { statement, signature: await signBytes(authorizer, bytes), proof: await signBytes(fresh, bytes) };
}
