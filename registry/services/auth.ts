import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { checkSchema, parseStrictJson } from '@etdi/protocol';
import {
  PUBLISHER_JWT_TYPE,
  PublisherTokenClaimsSchema,
  TokenRequestSchema,
  type Ed25519PublicJwk,
  type TokenResponse,
} from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import type { KeyRow } from '../store/types.js';
import type { Principal, RegistryContext } from './context.js';
import { checkStatementFrame, consumeStatement, verifyStatementSignature } from './statements.js';

const ANONYMOUS: Principal = { role: 'anonymous', actor: 'anonymous' };

const unauthenticated = (message: string, cause?: unknown, code: 'UNAUTHENTICATED' | 'ADMIN_NOT_CONFIGURED' | 'TOKEN_EXPIRED' = 'UNAUTHENTICATED'): RegistryError =>
  new RegistryError(code, message, {
    cause,
    headers: { 'WWW-Authenticate': 'Bearer realm="etdi-registry", error="invalid_token"' },
  });

/** A publisher token is a JWT (three base64url parts); anything else can only be meant as the admin token. */
const looksLikeJwt = (token: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);

/** Is `key` untrusted at `atMs` (revoked from a time at or before it)? */
export function isRevokedAt(key: Pick<KeyRow, 'revoked_from'>, atMs: number): boolean {
  return key.revoked_from !== null && Date.parse(key.revoked_from) <= atMs;
}

/**
 * Establishes the caller from the Authorization header. No header: anonymous. A header that does
 * not authenticate is 401 (never silently anonymous). Admin: the configured token, compared in
 * constant time (over SHA-256 digests, so lengths leak nothing). Publisher: a JWT this registry
 * issued (EdDSA only, typ, iss, aud, exp), whose key is still active now.
 */
export async function authenticate(ctx: RegistryContext, authorization: string | undefined): Promise<Principal> {
  if (authorization === undefined || authorization === '') return ANONYMOUS;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization);
  if (match === null) throw unauthenticated('Authorization must be "Bearer <token>"');
  const token = match[1]!;
  const admin = adminDigest(ctx);
  if (admin !== undefined) {
    const a = createHash('sha256').update(token).digest();
    if (timingSafeEqual(a, admin)) return { role: 'admin', actor: 'admin:config' };
  }
  if (!looksLikeJwt(token)) {
    // Not a publisher token: the caller meant the administrator token. Say which fix applies.
    if (admin === undefined)
      throw unauthenticated(
        'this registry has no administrator token configured: start it with ETDI_ADMIN_TOKEN set (etdi serve --demo writes one to <data dir>/admin-token), or prove the domain instead',
        undefined,
        'ADMIN_NOT_CONFIGURED',
      );
    throw unauthenticated('the bearer token is neither the administrator token of this registry nor a publisher token (run etdi token for one)');
  }
  let claims = verifiedTokens(ctx).get(token, ctx.now());
  // a remembered token whose registry key was revoked since is checked again (and refused)
  if (claims !== undefined && ctx.keys.verificationKey(claims.kid) === undefined) claims = undefined;
  claims ??= await verifyPublisherToken(ctx, token);
  const key = await ctx.store.getKey(claims.sub, claims.key_id);
  // a token dies with its key: revoking a key revokes the sessions it opened
  if (key === undefined || isRevokedAt(key, ctx.now()))
    throw unauthenticated(`the key ${claims.key_id} that obtained this token is revoked`);
  return { role: 'publisher', namespace: claims.sub, keyId: claims.key_id, actor: `key:${claims.key_id}` };
}

/** SHA-256 of the configured admin token, hashed once rather than on every request. */
const adminDigests = new WeakMap<RegistryContext['config'], { token: string; digest: Buffer }>();
function adminDigest(ctx: RegistryContext): Buffer | undefined {
  const admin = ctx.config.adminToken;
  if (admin === undefined) return undefined;
  let cached = adminDigests.get(ctx.config);
  if (cached?.token !== admin) adminDigests.set(ctx.config, (cached = { token: admin, digest: createHash('sha256').update(admin).digest() }));
  return cached.digest;
}

type PublisherClaims = {
  sub: string;
  key_id: string;
  /** Seconds since the epoch after which the token is refused: its exp, or iat + the maximum age if sooner. */
  until: number;
  /** The registry key that signed it: an emergency revocation of that key ends the token at once. */
  kid: string;
};

/**
 * Publisher tokens already verified, until their `exp`: a publisher sends the same token with
 * every publish, and its JWT verification (WebCrypto Ed25519 through jose) was about a tenth of
 * the publish path's CPU. Only the signature and claim checks are remembered; the key's status is
 * still read on every request.
 */
class VerifiedTokenCache {
  private readonly map = new Map<string, PublisherClaims>();
  get(token: string, nowMs: number): PublisherClaims | undefined {
    const claims = this.map.get(token);
    if (claims === undefined) return undefined;
    if (claims.until * 1000 <= nowMs) {
      this.map.delete(token);
      return undefined;
    }
    return claims;
  }
  set(token: string, claims: PublisherClaims): void {
    if (this.map.size >= 4096) this.map.clear();
    this.map.set(token, claims);
  }
}
const tokenCaches = new WeakMap<RegistryContext, VerifiedTokenCache>();
const verifiedTokens = (ctx: RegistryContext): VerifiedTokenCache => {
  let cache = tokenCaches.get(ctx);
  if (cache === undefined) tokenCaches.set(ctx, (cache = new VerifiedTokenCache()));
  return cache;
};

async function verifyPublisherToken(ctx: RegistryContext, token: string): Promise<PublisherClaims> {
  let payload: unknown;
  let kid = '';
  const maxAge = ctx.config.publisherTokenMaxAgeSeconds;
  try {
    ({ payload } = await jwtVerify(token, (header) => {
      kid = String(header.kid);
      const key = ctx.keys.verificationKey(header.kid);
      if (key === undefined) throw new Error(`unknown kid ${String(header.kid)}`);
      return key;
    }, {
      algorithms: ['EdDSA'], // alg none / HS256-with-the-public-key are refused here
      issuer: ctx.config.origin,
      audience: ctx.config.origin,
      typ: PUBLISHER_JWT_TYPE,
      requiredClaims: ['exp', 'iat', 'sub'],
      currentDate: new Date(ctx.now()),
      // whatever its exp says, a token older than this is refused (a long-lived token minted
      // with a leaked registry key still dies); iat in the future is refused too
      maxTokenAge: maxAge,
    }));
  } catch (cause) {
    // jose checked the signature before the claims: an expired token is one this registry issued
    if ((cause as { code?: unknown }).code === 'ERR_JWT_EXPIRED')
      throw unauthenticated('the publisher token expired (they live ' + ctx.config.publisherTokenTtlSeconds + ' s): run etdi token again for a new one', cause, 'TOKEN_EXPIRED');
    throw unauthenticated('the bearer token is not a valid publisher token of this registry (run etdi token for a new one)', cause);
  }
  const claims = PublisherTokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthenticated('the bearer token lacks the publisher claims');
  const { iat, exp } = payload as { iat: number; exp: number };
  if (exp - iat > maxAge) throw unauthenticated(`the bearer token lives ${exp - iat} s; this registry accepts publisher tokens of at most ${maxAge} s`);
  const verified = { sub: claims.data.sub, key_id: claims.data.key_id, until: Math.min(exp, iat + maxAge), kid };
  verifiedTokens(ctx).set(token, verified);
  return verified;
}

/** The caller may write to `namespace`: its publisher, or an administrator. */
export function requireWriter(principal: Principal, namespace: string): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'anonymous') throw unauthenticated('this operation needs a bearer token');
  if (principal.namespace !== namespace)
    throw new RegistryError('FORBIDDEN', `a publisher of ${principal.namespace} cannot write to ${namespace}`, {
      evidence: { tokenNamespace: principal.namespace, namespace },
    });
}

export function requireAdmin(principal: Principal): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'anonymous') throw unauthenticated('this operation needs the administrator token');
  throw new RegistryError('FORBIDDEN', 'this operation is for the administrator');
}

/**
 * POST /v1/tokens: a short-lived publisher token against a fresh statement signed by an active
 * key of the namespace (so no long-lived shared secret exists for publishers).
 */
export async function issuePublisherToken(ctx: RegistryContext, body: unknown): Promise<TokenResponse> {
  const request = checkSchema(TokenRequestSchema, body, 'token request');
  const statement = request.statement;
  checkStatementFrame(ctx, statement);
  const key = await ctx.store.getKey(statement.namespace, statement.keyId);
  if (key === undefined)
    throw new RegistryError('UNTRUSTED_SIGNER', `${statement.keyId} is not a key of ${statement.namespace}`);
  if (isRevokedAt(key, ctx.now())) throw new RegistryError('KEY_REVOKED', `key ${statement.keyId} is revoked`);
  await verifyStatementSignature(parseStrictJson(key.jwk) as Ed25519PublicJwk, statement, request.signature, 'the token request signature');
  await ctx.queue.submit((tx) => consumeStatement(tx, ctx, statement));
  const signer = ctx.keys.current();
  const nowS = Math.floor(ctx.now() / 1000);
  const ttl = ctx.config.publisherTokenTtlSeconds;
  const token = await new SignJWT({ key_id: statement.keyId })
    .setProtectedHeader({ alg: 'EdDSA', typ: PUBLISHER_JWT_TYPE, kid: signer.kid })
    .setIssuer(ctx.config.origin)
    .setAudience(ctx.config.origin)
    .setSubject(statement.namespace)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + ttl)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(signer.privateKey);
  return { token_type: 'Bearer', access_token: token, expires_in: ttl, namespace: statement.namespace };
}
