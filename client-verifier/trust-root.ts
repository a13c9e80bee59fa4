import { Ed25519PublicJwkSchema, type Ed25519PublicJwk } from '@etdi/schemas';
import { jwkThumbprint } from '@etdi/protocol';

/** What a host configures: which registry it trusts. */
export interface TrustRootConfig {
  /** The attestation issuer (`iss`) the registry signs as. */
  issuer: string;
  /** The audience (`aud`) the host expects in attestation tokens. */
  audience: string;
  /** The registry's JWKS (`/.well-known/jwks.json`), fetched once or shipped with the host. */
  jwks: { keys: readonly unknown[] };
  /**
   * The key ids (RFC 7638 thumbprints) the host pins. Only keys of the JWKS whose thumbprint is
   * pinned are used: a JWKS served by a compromised host cannot add a key.
   */
  pinnedKeyIds: readonly string[];
  /** The transparency log's C2SP note verifier key (`<name>+<hex id>+<base64 key>`). */
  logKey: string;
  /** The checkpoint origin line the log uses; every checkpoint is checked against it when given. */
  logOrigin?: string;
}

/** A checked trust root: the pinned attestation keys by id, and the log key. */
export interface TrustRoot {
  readonly issuer: string;
  readonly audience: string;
  readonly attestationKeys: ReadonlyMap<string, Ed25519PublicJwk>;
  readonly logKey: string;
  readonly logOrigin?: string;
}

/**
 * Checks a trust root configuration. Throws TypeError naming the field when it is unusable:
 * no pinned key, or a pinned key id absent from the JWKS (a configuration error, not an attack
 * on one tool, so it is not a VerificationError).
 */
export function createTrustRoot(config: TrustRootConfig): TrustRoot {
  if (typeof config.issuer !== 'string' || config.issuer.length === 0) throw new TypeError('trust root: issuer must be a non-empty string');
  if (typeof config.audience !== 'string' || config.audience.length === 0) throw new TypeError('trust root: audience must be a non-empty string');
  if (typeof config.logKey !== 'string' || !config.logKey.includes('+')) throw new TypeError('trust root: logKey must be a C2SP note verifier key');
  if (!Array.isArray(config.jwks?.keys)) throw new TypeError('trust root: jwks must be a JWK set ({ keys: [...] })');
  if (config.pinnedKeyIds.length === 0) throw new TypeError('trust root: pinnedKeyIds must name at least one registry key');
  const pinned = new Set(config.pinnedKeyIds);
  const keys = new Map<string, Ed25519PublicJwk>();
  for (const raw of config.jwks.keys) {
    const parsed = Ed25519PublicJwkSchema.safeParse(raw);
    if (!parsed.success) continue; // not an Ed25519 key: never usable for EdDSA-only verification
    const id = jwkThumbprint(parsed.data);
    if (pinned.has(id)) keys.set(id, { kty: 'OKP', crv: 'Ed25519', x: parsed.data.x });
  }
  for (const id of pinned) if (!keys.has(id)) throw new TypeError(`trust root: pinned key ${id} is not an Ed25519 key of the JWKS`);
  return { issuer: config.issuer, audience: config.audience, attestationKeys: keys, logKey: config.logKey, ...(config.logOrigin ? { logOrigin: config.logOrigin } : {}) };
}
