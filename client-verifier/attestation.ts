import { importJWK, jwtVerify, type CryptoKey, type JWTHeaderParameters } from 'jose';
import { ATTESTATION_JWT_TYPE, AttestationClaimsSchema, type AttestationClaims, type VersionRecord } from '../schemas/index.js';
import { toSchemaIssues } from '../protocol/index.js';
import { VerificationError } from './errors.js';
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
    permissions: record.signedManifest.manifest.permissions,
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
}

const importedKeys = new WeakMap<TrustRoot, Map<string, Promise<CryptoKey>>>();

function keyFor(trust: TrustRoot, header: JWTHeaderParameters): Promise<CryptoKey> {
  const kid = header.kid;
  const jwk = kid === undefined ? undefined : trust.attestationKeys.get(kid);
  if (kid === undefined || jwk === undefined)
    return Promise.reject(
      new VerificationError('ATTESTATION_INVALID', `the attestation is signed by key ${kid ?? '(no kid)'}, which the trust root does not pin`, {
        expected: [...trust.attestationKeys.keys()],
        got: kid ?? null,
      }),
    );
  let cache = importedKeys.get(trust);
  if (cache === undefined) importedKeys.set(trust, (cache = new Map()));
  let key = cache.get(kid);
  if (key === undefined) {
    // Importing costs more than a verify: once per pinned key (hot path: re-verification).
    key = importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA') as Promise<CryptoKey>;
    cache.set(kid, key);
  }
  return key;
}

/**
 * Verifies a registry attestation token (DESIGN.md "Attestation tokens"): EdDSA only, a pinned
 * key, issuer, audience, expiry, `typ`, and every claim equal to the verified manifest's.
 * Any failure is ATTESTATION_INVALID with the claim that differed as evidence.
 */
export async function verifyAttestation(
  token: string,
  trust: TrustRoot,
  expected: ExpectedAttestation,
  options: AttestationOptions = {},
): Promise<AttestationClaims> {
  let payload: unknown;
  try {
    const result = await jwtVerify(token, (header) => keyFor(trust, header), {
      algorithms: ['EdDSA'],
      issuer: trust.issuer,
      audience: trust.audience,
      typ: ATTESTATION_JWT_TYPE,
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'],
      clockTolerance: options.clockToleranceSec ?? 30,
      ...(options.now ? { currentDate: options.now } : {}),
    });
    payload = result.payload;
  } catch (cause) {
    if (cause instanceof VerificationError) throw cause;
    const code = (cause as { code?: string }).code ?? 'ERR_UNKNOWN';
    throw new VerificationError(
      'ATTESTATION_INVALID',
      `the registry attestation for ${expected.toolId}@${expected.version} does not verify (${code}: ${(cause as Error).message}); fetch a fresh bundle`,
      { toolId: expected.toolId, version: expected.version, joseCode: code },
      { cause },
    );
  }
  const parsed = AttestationClaimsSchema.safeParse(payload);
  if (!parsed.success)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation claims are malformed: ${toSchemaIssues(parsed.error)[0]?.message ?? ''}`, {
      toolId: expected.toolId,
      issues: toSchemaIssues(parsed.error),
    });
  const claims = parsed.data;
  const nowSec = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.clockToleranceSec ?? 30;
  // jose checks exp and nbf; a token issued in the future is a clock attack or a forged iat.
  if (claims.iat > nowSec + tolerance)
    throw new VerificationError('ATTESTATION_INVALID', `the attestation is issued in the future (iat ${claims.iat}, now ${nowSec})`, {
      expected: `<= ${nowSec + tolerance}`,
      got: claims.iat,
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
