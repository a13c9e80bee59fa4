import { Ed25519PublicJwkSchema, TRUST_FILE_TYPE, TrustFileSchema, type Ed25519PublicJwk, type TrustFile } from '@etdi/schemas';
import { jwkThumbprint, parseVerifierKey, toHex } from '@etdi/protocol';
import { VerificationError } from './errors.js';
import { RegistryClient } from './registry-client.js';
import type { TrustRootConfig } from './trust-root.js';

/** The fingerprint a person compares for the log key: `<name>+<hex key id>` of its verifier key. */
export function logKeyFingerprint(verifierKey: string): string {
  const key = parseVerifierKey(verifierKey);
  return `${key.name}+${toHex(key.keyId)}`;
}

export interface FetchTrustOptions {
  /**
   * Fingerprints the host expects, as a person got them from the registry's operator out of band:
   * attestation key ids (RFC 7638 thumbprints) and the log key (`<name>+<hex id>`). When given,
   * the log key and at least one attestation key must be among them, and only the expected
   * attestation keys are pinned; otherwise TRUST_MISMATCH. When absent, everything the registry
   * serves is pinned (trust on first use: show the fingerprints to a person).
   */
  expect?: readonly string[];
  /** Overrides of what the registry's metadata document says. */
  issuer?: string;
  audience?: string;
}

/**
 * Fetches what to pin from a registry: its metadata document (issuer, audience, log), its JWKS
 * and its log key, checked against each other and against `expect`. Nothing fetched here is
 * trusted by itself: the result is what a person confirms (`etdi trust init` prints the
 * fingerprints) and commits as the trust file.
 */
export async function fetchTrust(registry: string | RegistryClient, options: FetchTrustOptions = {}): Promise<TrustFile> {
  const client = typeof registry === 'string' ? new RegistryClient({ baseUrl: registry }) : registry;
  const [metadata, jwks, logKey] = await Promise.all([client.getMetadata(), client.getJwks(), client.getLogKey()]);
  // The two documents that name the log key must agree: one answer from a confused or split
  // deployment must not decide which key is pinned.
  if (metadata.log.verifierKey !== logKey.verifierKey || metadata.log.origin !== logKey.origin)
    throw new VerificationError('TRUST_MISMATCH', `the registry at ${client.baseUrl} names two different log keys (metadata and /v1/log/key); ask its operator`, {
      expected: metadata.log,
      got: { origin: logKey.origin, verifierKey: logKey.verifierKey },
    });
  const keys = jwks.keys.flatMap((k): Ed25519PublicJwk[] => {
    const parsed = Ed25519PublicJwkSchema.safeParse(k);
    return parsed.success ? [{ kty: 'OKP', crv: 'Ed25519', x: parsed.data.x }] : [];
  });
  if (keys.length === 0) throw new VerificationError('TRUST_MISMATCH', `the registry at ${client.baseUrl} serves no Ed25519 attestation key`, { got: jwks.keys.length });
  const served = keys.map((k) => ({ id: jwkThumbprint(k), jwk: k }));
  const logFingerprint = logKeyFingerprint(logKey.verifierKey);
  let pinned = served;
  if (options.expect !== undefined && options.expect.length > 0) {
    const expected = new Set(options.expect);
    pinned = served.filter((k) => expected.has(k.id));
    const unmatched = [...expected].filter((e) => e !== logFingerprint && !served.some((k) => k.id === e));
    if (!expected.has(logFingerprint) || pinned.length === 0 || unmatched.length > 0)
      throw new VerificationError(
        'TRUST_MISMATCH',
        `the registry at ${client.baseUrl} does not serve the keys you expected: do not pin it; compare the fingerprints with its operator`,
        { expected: [...expected], got: { attestationKeys: served.map((k) => k.id), logKey: logFingerprint } },
      );
  }
  return {
    type: TRUST_FILE_TYPE,
    registry: client.baseUrl,
    issuer: options.issuer ?? metadata.issuer,
    audience: options.audience ?? metadata.audience,
    jwks: { keys: pinned.map((k) => k.jwk) },
    pinnedKeyIds: pinned.map((k) => k.id),
    logKey: logKey.verifierKey,
    logOrigin: logKey.origin,
  };
}

/** Checks a trust file's content (LOCKFILE_CORRUPT-like: SCHEMA_INVALID naming the fix). */
export function decodeTrustFile(value: unknown, where = 'the trust file'): TrustFile {
  const parsed = TrustFileSchema.safeParse(value);
  if (!parsed.success)
    throw new VerificationError('SCHEMA_INVALID', `${where} is not an ${TRUST_FILE_TYPE} document (${parsed.error.issues[0]?.message ?? ''}); write it again with etdi trust init`, {
      path: where,
    });
  return parsed.data;
}

/** The trust root a ToolVerifier takes, from a trust file. */
export function trustRootOf(trust: TrustFile): TrustRootConfig {
  return { issuer: trust.issuer, audience: trust.audience, jwks: trust.jwks, pinnedKeyIds: trust.pinnedKeyIds, logKey: trust.logKey, ...(trust.logOrigin ? { logOrigin: trust.logOrigin } : {}) };
}
