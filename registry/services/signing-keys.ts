import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { generateKeyPair, parseStrictJson, toPublicJwk } from '@etdi/protocol';
import type { Ed25519PrivateJwk, Jwks } from '@etdi/schemas';
import type { RegistryConfig } from '../config.js';
import type { RegistryStore } from '../store/store.js';
import type { WriteQueue } from './write-queue.js';

interface LoadedKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Ed25519PrivateJwk;
  createdAt: number;
  retiredAt: number | null;
}

/**
 * The registry's JWT signing keys (attestation and publisher tokens), persisted in the store.
 * Rotation: the new key signs from now on; a retired key stays in the JWKS (and keeps verifying
 * publisher tokens) until the last token it signed has expired, so rotation invalidates nothing.
 */
export class RegistrySigningKeys {
  private keys: LoadedKey[] = [];

  constructor(
    private readonly store: RegistryStore,
    private readonly config: RegistryConfig,
    private readonly nowSeconds: () => number,
  ) {
    this.reload();
    if (this.keys.every((k) => k.retiredAt !== null)) {
      // the first start: no server is running yet, so nothing else writes
      const fresh = generateKeyPair().privateJwk;
      this.store.transaction(() => this.writeRotation(fresh, this.nowSeconds()));
      this.reload();
    }
  }

  private reload(): void {
    this.keys = this.store.registryKeys('jwt').map((row) => {
      const jwk = parseStrictJson(row.private_jwk) as Ed25519PrivateJwk;
      return {
        kid: row.kid,
        jwk,
        privateKey: createPrivateKey({ key: jwk, format: 'jwk' }),
        publicKey: createPublicKey({ key: toPublicJwk(jwk), format: 'jwk' }),
        createdAt: row.created_at,
        retiredAt: row.retired_at,
      };
    });
  }

  /** Longest lifetime of anything a key signs: a retired key is served this long after retirement. */
  private get overlapSeconds(): number {
    return Math.max(this.config.attestationTtlSeconds, this.config.publisherTokenTtlSeconds) + this.config.maxClockSkewSeconds;
  }

  /** The key that signs now. */
  current(): { kid: string; privateKey: KeyObject } {
    const active = this.keys.filter((k) => k.retiredAt === null);
    const key = active[active.length - 1];
    if (key === undefined) throw new Error('no active registry signing key');
    return { kid: key.kid, privateKey: key.privateKey };
  }

  /** Keys a relying party may still need: the current one and retired ones whose tokens may live. */
  private live(): LoadedKey[] {
    const now = this.nowSeconds();
    return this.keys.filter((k) => k.retiredAt === null || k.retiredAt + this.overlapSeconds > now);
  }

  jwks(): Jwks {
    return { keys: this.live().map((k) => toPublicJwk(k.jwk)) };
  }

  /** Public key for `kid`, only while it is served in the JWKS. */
  verificationKey(kid: string | undefined): KeyObject | undefined {
    return this.live().find((k) => k.kid === kid)?.publicKey;
  }

  /**
   * Generates a new signing key and retires the others, as one job of the write queue: like every
   * other state change it then never waits on the event loop for a publish batch's write lock, and
   * the new key signs only once its row is committed (a batch that rolls back leaves the old key
   * signing, never a key the store does not hold). Returns the new kid and the kids still served.
   */
  async rotate(queue: WriteQueue): Promise<{ kid: string; previous: string[] }> {
    const fresh = generateKeyPair().privateJwk;
    await queue.submit(() => this.writeRotation(fresh, this.nowSeconds()));
    this.reload();
    return { kid: fresh.kid!, previous: this.live().filter((k) => k.kid !== fresh.kid).map((k) => k.kid) };
  }

  private writeRotation(fresh: Ed25519PrivateJwk, now: number): void {
    this.store.insertRegistryKey('jwt', fresh, now);
    this.store.retireRegistryKeys('jwt', fresh.kid!, now);
  }
}
