import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { generateKeyPair, parseStrictJson, toPublicJwk } from '@etdi/protocol';
import type { Ed25519PrivateJwk, Jwks } from '@etdi/schemas';
import type { RegistryConfig } from '../config.js';
import type { Store, StoreTx } from '../store/types.js';
import type { WriteQueue } from './write-queue.js';

interface LoadedKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Ed25519PrivateJwk;
  createdAt: number;
  retiredAt: number | null;
  revokedAt: number | null;
}

/**
 * The registry's JWT signing keys (attestation and publisher tokens), persisted in the store.
 * Rotation: the new key signs from now on; a retired key stays in the JWKS (and keeps verifying
 * publisher tokens) until the last token it signed has expired, so rotation invalidates nothing.
 *
 * Several registry processes on one database share these rows: each holds them in memory and
 * reloads them every `config.registryKeyRefreshSeconds` (and at once after its own rotation or
 * revocation), so a rotation or an emergency revocation made through one process reaches the
 * others within that interval (docs/OPERATIONS.md, "Several processes").
 */
export class RegistrySigningKeys {
  private keys: LoadedKey[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: Store,
    private readonly config: RegistryConfig,
    private readonly nowSeconds: () => number,
  ) {}

  /** The keys in `store`; on the first start, a first key (once, whatever the number of processes starting). */
  static async open(store: Store, config: RegistryConfig, nowSeconds: () => number): Promise<RegistrySigningKeys> {
    const keys = new RegistrySigningKeys(store, config, nowSeconds);
    await keys.reload();
    if (keys.keys.every((k) => k.retiredAt !== null)) {
      const fresh = generateKeyPair().privateJwk;
      // re-read under the store's lock: another process starting now may have made the first key
      await store.transaction(async (tx) => {
        if ((await tx.registryKeys('jwt')).every((k) => k.retired_at !== null)) await keys.writeRotation(tx, fresh, nowSeconds());
      });
      await keys.reload();
    }
    return keys;
  }

  /** Reloads the keys every `seconds` (other processes' rotations and revocations); stop() ends it. */
  refreshEvery(seconds: number): void {
    this.stop();
    this.timer = setInterval(() => void this.reload().catch(() => undefined), seconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async reload(): Promise<void> {
    this.keys = (await this.store.registryKeys('jwt')).map((row) => {
      const jwk = parseStrictJson(row.private_jwk) as Ed25519PrivateJwk;
      return {
        kid: row.kid,
        jwk,
        privateKey: createPrivateKey({ key: jwk, format: 'jwk' }),
        publicKey: createPublicKey({ key: toPublicJwk(jwk), format: 'jwk' }),
        createdAt: row.created_at,
        retiredAt: row.retired_at,
        revokedAt: row.revoked_at,
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

  /**
   * Keys a relying party may still need: the current one and retired ones whose tokens may live.
   * A revoked key is never one of them: it left the JWKS when it was revoked.
   */
  private live(): LoadedKey[] {
    const now = this.nowSeconds();
    return this.keys.filter((k) => k.revokedAt === null && (k.retiredAt === null || k.retiredAt + this.overlapSeconds > now));
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
    await queue.submit((tx) => this.writeRotation(tx, fresh, this.nowSeconds()));
    await this.reload();
    return { kid: fresh.kid!, previous: this.live().filter((k) => k.kid !== fresh.kid).map((k) => k.kid) };
  }

  /**
   * Emergency revocation (a registry key is compromised): the key leaves the JWKS and stops
   * verifying publisher tokens at once, without the overlap a rotation leaves. If it is the key
   * that signs now, a new key replaces it in the same job. Attestations it signed are refused by
   * clients as soon as they refetch the JWKS; the cached ones here are dropped by the caller.
   */
  async revoke(queue: WriteQueue, kid: string): Promise<{ kid: string; revoked: string; previous: string[] } | undefined> {
    const fresh = generateKeyPair().privateJwk;
    const revoked = await queue.submit(async (tx) => {
      const now = this.nowSeconds();
      const active = (await tx.registryKeys('jwt')).filter((k) => k.retired_at === null);
      const signingNow = active[active.length - 1]?.kid;
      if (!(await tx.revokeRegistryKey(kid, now))) return false;
      if (kid === signingNow) await this.writeRotation(tx, fresh, now);
      return true;
    });
    await this.reload();
    if (!revoked) return undefined;
    const signing = this.current().kid;
    return { kid: signing, revoked: kid, previous: this.live().filter((k) => k.kid !== signing).map((k) => k.kid) };
  }

  private async writeRotation(tx: StoreTx, fresh: Ed25519PrivateJwk, now: number): Promise<void> {
    await tx.insertRegistryKey({ kid: fresh.kid!, purpose: 'jwt', private_jwk: JSON.stringify(fresh), created_at: now });
    await tx.retireRegistryKeys('jwt', fresh.kid!, now);
  }
}
