import { importJWK, jwtVerify, type CryptoKey, type JWTHeaderParameters } from 'jose';
import {
  ATTESTATION_JWT_TYPE,
  ATTESTATION_SET_JWT_TYPE,
  AttestationClaimsSchema,
  AttestationSetClaimsSchema,
  type AttestationClaims,
  type VersionRecord,
} from '@etdi/schemas';
import { toSchemaIssues } from '@etdi/protocol';
import { VerificationError } from './errors.js';
import { recordTerms } from './signed-version.js';
import type { TrustRoot } from './trust-root.js';

/** What the token must say: every claim is matched against the verified manifest and its record. */
export interface ExpectedAttestation {
  toolId: string;
  version: string;
  provider: string;
  definitionDigest: string;
  manifestDigest: string;
  permissions: readonly string[];
  leafIndex: number;
}

/** The claims a record's attestation must carry: every one derived from the verified record. */
export function expectedAttestation(record: VersionRecord): ExpectedAttestation {
  return {
    toolId: record.toolId,
    version: record.version,
    provider: record.provider,
    definitionDigest: record.definitionDigest,
    manifestDigest: record.manifestDigest,
    permissions: recordTerms(record).permissions,
    leafIndex: record.leafIndex,
  };
}

export interface AttestationOptions {
  /** Current time (for tests and offline hosts). Default: the clock. */
  now?: Date;
  /** Accepted clock skew in seconds for exp/iat. Default 30. */
  clockToleranceSec?: number;
  /** Longest accepted token lifetime (exp - iat), seconds. Default 24 h: attestations are short-lived. */
  maxLifetimeSec?: number;
  /**
   * The pinned keys imported for WebCrypto so far, by key id, for ONE trust root: importing costs
   * more than a verify, so a caller verifying many tokens keeps one (ToolVerifier owns one).
   * Without it each token imports its key.
   */
  importedKeys?: Map<string, Promise<CryptoKey>>;
}

function keyFor(trust: TrustRoot, header: JWTHeaderParameters, cache: Map<string, Promise<CryptoKey>> | undefined): Promise<CryptoKey> {
  const kid = header.kid;
  const jwk = kid === undefined ? undefined : trust.attestationKeys.get(kid);
  if (kid === undefined || jwk === undefined)
    return Promise.reject(
      new VerificationError('ATTESTATION_INVALID', `the attestation is signed by key ${kid ?? '(no kid)'}, which the trust root does not pin`, {
        expected: [...trust.attestationKeys.keys()],
        got: kid ?? null,
      }),
    );
  let key = cache?.get(kid);
  if (key === undefined) {
    key = importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA') as Promise<CryptoKey>;
    cache?.set(kid, key);
  }
  return key;
}

/** Verifies a registry JWT's signature (a pinned key, EdDSA only), issuer, audience, expiry and `typ`; returns its payload. */
async function verifyRegistryJwt(token: string, trust: TrustRoot, typ: string, requiredClaims: string[], options: AttestationOptions, what: string, evidence: Record<string, unknown>): Promise<unknown> {
  try {
    const result = await jwtVerify(token, (header) => keyFor(trust, header, options.importedKeys), {
      algorithms: ['EdDSA'],
      issuer: trust.issuer,
      audience: trust.audience,
      typ,
      requiredClaims,
      clockTolerance: options.clockToleranceSec ?? 30,
      ...(options.now ? { currentDate: options.now } : {}),
    });
    return result.payload;
  } catch (cause) {
    if (cause instanceof VerificationError) throw cause;
    const code = (cause as { code?: string }).code ?? 'ERR_UNKNOWN';
    throw new VerificationError(
      'ATTESTATION_INVALID',
      `${what} does not verify (${code}: ${(cause as Error).message}); fetch a fresh bundle`,
      { ...evidence, joseCode: code },
      { cause },
    );
  }
}

/**
 * Verifies a registry attestation token (docs/PROTOCOL.md, attestation tokens): EdDSA only, a pinned
 * key, issuer, audience, expiry, `typ`, and every claim equal to the verified manifest's.
 * Any failure is ATTESTATION_INVALID with the claim that differed as evidence.
 */
export async function verifyAttestation(
  token: string,
  trust: TrustRoot,
  expected: ExpectedAttestation,
  options: AttestationOptions = {},
): Promise<AttestationClaims> {
  const payload = await verifyRegistryJwt(
    token,
    trust,
    ATTESTATION_JWT_TYPE,
    ['iss', 'aud', 'sub', 'iat', 'exp'],
    options,
    `the registry attestation for ${expected.toolId}@${expected.version}`,
    { toolId: expected.toolId, version: expected.version },
  );
  const parsed = AttestationClaimsSchema.safeParse(payload);
  if (!parsed.success)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation claims are malformed: ${toSchemaIssues(parsed.error)[0]?.message ?? ''}`, {
      toolId: expected.toolId,
      issues: toSchemaIssues(parsed.error),
    });
  return checkAttestedClaims(parsed.data, expected, options);
}

/** The versions a verified attestation set vouches for: `toolId@version` -> that version's claims. */
export type AttestedVersions = ReadonlyMap<string, AttestationClaims>;

/**
 * Verifies an attestation set (typ `etdi-attestation-set+jwt`, one registry signature over many
 * versions) like a single attestation: pinned key, EdDSA, issuer, audience, expiry, type. Returns
 * each version's claims as a single attestation would carry them (the set's iss, aud, iat and
 * exp), to be matched per tool with checkAttestedClaims when that tool is verified. A set that
 * names a version twice is refused: it would say two things about one version.
 */
export async function verifyAttestationSet(token: string, trust: TrustRoot, options: AttestationOptions = {}): Promise<AttestedVersions> {
  const payload = await verifyRegistryJwt(token, trust, ATTESTATION_SET_JWT_TYPE, ['iss', 'aud', 'iat', 'exp'], options, 'the registry attestation set', {});
  const parsed = AttestationSetClaimsSchema.safeParse(payload);
  if (!parsed.success)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation set's claims are malformed: ${toSchemaIssues(parsed.error)[0]?.message ?? ''}`, {
      issues: toSchemaIssues(parsed.error),
    });
  const { iss, aud, iat, exp, tools } = parsed.data;
  const versions = new Map<string, AttestationClaims>();
  for (const tool of tools) {
    const key = `${tool.sub}@${tool.tool_version}`;
    if (versions.has(key))
      throw new VerificationError('ATTESTATION_INVALID', `the attestation set names ${key} twice`, { toolId: tool.sub, version: tool.tool_version });
    versions.set(key, { iss, aud, iat, exp, ...tool });
  }
  return versions;
}

/**
 * The checks on verified claims: not issued in the future, a bounded lifetime, not expired at
 * `options.now` (a set verified earlier may have expired since), and every claim equal to what
 * the verified manifest and its record say. Returns the claims.
 */
export function checkAttestedClaims(claims: AttestationClaims, expected: ExpectedAttestation, options: AttestationOptions = {}): AttestationClaims {
  const nowSec = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.clockToleranceSec ?? 30;
  // jose checks exp and nbf; a token issued in the future is a clock attack or a forged iat.
  if (claims.iat > nowSec + tolerance)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation is issued in the future (iat ${claims.iat}, now ${nowSec})`, {
      expected: `<= ${nowSec + tolerance}`,
      got: claims.iat,
    });
  if (claims.exp < nowSec - tolerance)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation for ${expected.toolId}@${expected.version} expired at ${claims.exp} (now ${nowSec}); fetch a fresh bundle`, {
      toolId: expected.toolId,
      expected: `>= ${nowSec - tolerance}`,
      got: claims.exp,
    });
  const lifetime = claims.exp - claims.iat;
  const maxLifetime = options.maxLifetimeSec ?? 24 * 3600;
  if (lifetime <= 0 || lifetime > maxLifetime)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation lives ${lifetime} s, outside (0, ${maxLifetime}]`, {
      expected: `<= ${maxLifetime}`,
      got: lifetime,
    });
  const scope = claims.scope === '' ? [] : claims.scope.split(' ');
  const mismatches: [string, unknown, unknown][] = [];
  const check = (claim: string, want: unknown, got: unknown): void => {
    if (want !== got) mismatches.push([claim, want, got]);
  };
  check('sub', expected.toolId, claims.sub);
  check('tool_version', expected.version, claims.tool_version);
  check('provider', expected.provider, claims.provider);
  check('definition_digest', expected.definitionDigest, claims.definition_digest);
  check('manifest_digest', expected.manifestDigest, claims.manifest_digest);
  check('log_index', expected.leafIndex, claims.log_index);
  check('scope', [...expected.permissions].sort().join(' '), [...scope].sort().join(' '));
  if (new Set(scope).size !== scope.length) mismatches.push(['scope', 'no repeated scope', claims.scope]);
  const first = mismatches[0];
  if (first !== undefined)
    throw new VerificationError(
      'ATTESTATION_INVALID',
      `the attestation's ${first[0]} does not match the signed manifest of ${expected.toolId}@${expected.version}`,
      { claim: first[0], expected: first[1], got: first[2], toolId: expected.toolId, version: expected.version },
    );
  return claims;
}
