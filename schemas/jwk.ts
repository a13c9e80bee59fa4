import { z } from 'zod';
import { KEY_ID_PATTERN } from './limits.js';

const base64url = (bytes: number) =>
  z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`), `must be ${bytes} bytes, base64url`);

/** An Ed25519 public key as a JWK (RFC 8037). `kid`, when present, is its RFC 7638 thumbprint. */
export const Ed25519PublicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: base64url(32),
  kid: z.string().regex(KEY_ID_PATTERN).optional(),
  alg: z.literal('EdDSA').optional(),
  use: z.literal('sig').optional(),
});
export type Ed25519PublicJwk = z.infer<typeof Ed25519PublicJwkSchema>;

/** The private key file format: a JWK with the 32-byte seed in `d`. Written 0600, never logged. */
export const Ed25519PrivateJwkSchema = Ed25519PublicJwkSchema.extend({ d: base64url(32) });
export type Ed25519PrivateJwk = z.infer<typeof Ed25519PrivateJwkSchema>;

export const KeyIdSchema = z.string().regex(KEY_ID_PATTERN, 'key id must be an RFC 7638 thumbprint (43 chars base64url)');
