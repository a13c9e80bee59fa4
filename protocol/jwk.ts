import {
  Ed25519PrivateJwkSchema,
  Ed25519PublicJwkSchema,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
} from '@etdi/schemas';
import { publicKeyOf, randomSeed } from './ed25519.js';
import { fromBase64Url, toBase64Url, utf8 } from './encoding.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';

/** RFC 7638 thumbprint of an Ed25519 JWK: the key id used everywhere in the project. */
export function jwkThumbprint(jwk: Pick<Ed25519PublicJwk, 'x'>): string {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 section 3.2).
  return toBase64Url(sha256(utf8(`{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`)));
}

/** Checks a public JWK's shape and returns its 32 raw bytes; INVALID_KEY otherwise. */
export function publicKeyBytes(jwk: unknown): Uint8Array {
  const parsed = Ed25519PublicJwkSchema.safeParse(jwk);
  if (!parsed.success) throw new ProtocolError('INVALID_KEY', 'not an Ed25519 public JWK', { cause: parsed.error });
  if (parsed.data.kid !== undefined && parsed.data.kid !== jwkThumbprint(parsed.data))
    throw new ProtocolError('INVALID_KEY', 'JWK kid is not its RFC 7638 thumbprint');
  return fromBase64Url(parsed.data.x);
}

/** The 32-byte seed of a private JWK, after checking that `x` matches `d`. */
export function privateKeySeed(jwk: unknown): Uint8Array {
  const parsed = Ed25519PrivateJwkSchema.safeParse(jwk);
  if (!parsed.success) throw new ProtocolError('INVALID_KEY', 'not an Ed25519 private JWK');
  const seed = fromBase64Url(parsed.data.d);
  if (toBase64Url(publicKeyOf(seed)) !== parsed.data.x)
    throw new ProtocolError('INVALID_KEY', 'private JWK: x does not match d');
  return seed;
}

/** The public half of a private JWK, with its thumbprint as `kid`. */
export function toPublicJwk(jwk: Ed25519PrivateJwk | Ed25519PublicJwk): Ed25519PublicJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwkThumbprint(jwk), alg: 'EdDSA', use: 'sig' };
}

export interface GeneratedKeyPair {
  privateJwk: Ed25519PrivateJwk;
  publicJwk: Ed25519PublicJwk;
  keyId: string;
}

/** A fresh Ed25519 key pair from the platform's CSPRNG. */
export function generateKeyPair(): GeneratedKeyPair {
  const seed = randomSeed();
  const x = toBase64Url(publicKeyOf(seed));
  const keyId = jwkThumbprint({ x });
  return {
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x, d: toBase64Url(seed), kid: keyId, alg: 'EdDSA', use: 'sig' },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid: keyId, alg: 'EdDSA', use: 'sig' },
    keyId,
  };
}
