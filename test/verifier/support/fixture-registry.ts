/**
 * A registry stand-in for the verifier's tests, built from the project's real parts: real
 * Ed25519 keys, manifests signed with signManifest, a real TransparencyLog on a SQLite file in
 * a temp dir (the log helper's code), and attestation JWTs signed with jose. Nothing here
 * mocks a check the verifier performs: it produces the documents the registry serves.
 */
import { SignJWT, importJWK } from 'jose';
import { join } from 'node:path';
import {
  ATTESTATION_JWT_TYPE,
  isDeclarationRecord,
  type AttestedVersion,
  LOG_EVENT_TYPE,
  MANIFEST_TYPE,
  type Ed25519PrivateJwk,
  type KeyStatus,
  type LogEvent,
  type SignedManifest,
  type ToolManifest,
  type ToolPolicy,
  type VersionBundle,
  type ManifestRecord,
  type VersionRecord,
} from '../../../schemas/index.js';
import { canonicalBytes, formatVerifierKey, generateKeyPair, privateKeySeed, publicKeyOf, signManifest, verifyManifestSignature, type GeneratedKeyPair } from '../../../protocol/index.js';
import { TransparencyLog } from '../../../registry/log/transparency-log.js';
import { SqliteStore } from '../../../registry/store/sqlite/sqlite-store.js';
import type { TrustRootConfig } from '../../../client-verifier/index.js';

export const ISSUER = 'https://registry.test';
export const AUDIENCE = 'etdi-host';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface PublishOptions {
  version: string;
  permissions?: string[];
  policy?: ToolPolicy;
  /** Sign with this key instead of the namespace's first key (may be another provider's). */
  signWith?: GeneratedKeyPair;
  issuedAt?: string;
}

interface VersionState {
  record: ManifestRecord;
  revocation?: { reason: string; revokedAt: string; by: string };
}

export interface FixtureRegistryOptions {
  dir: string;
  /** Share the log key between two registries to build a fork (split view). */
  logKey?: Ed25519PrivateJwk;
  attestationKey?: GeneratedKeyPair;
  /** Clock in ms (publication times). */
  now?: () => number;
}

const LOG_ORIGIN = 'registry.test/log';

/** A bundle of this fixture: its records are all our own signed manifests. */
export type ManifestBundle = VersionBundle & { record: ManifestRecord };

export class FixtureRegistry {
  readonly attestationKey: GeneratedKeyPair;
  readonly logSigningKey: Ed25519PrivateJwk;
  private readonly store: SqliteStore;
  /** The real log, opened with `logSigningKey` (written into the store first). */
  private readonly opened: Promise<TransparencyLog>;
  /** Events of the synchronous methods (registerNamespace, revokeKey, revokeVersion), appended in order before any read of the log. */
  private pending: LogEvent[] = [];
  private readonly vkey: string;
  /** The log as the verifier's tests reach it: its key at once, the rest once the pending events are appended. */
  readonly log = {
    verifierKey: (): string => this.vkey,
    checkpoint: async (): Promise<string> => (await this.flushed()).checkpoint(),
    evidence: async (leafIndex: number) => (await this.flushed()).evidence(leafIndex),
    consistencyProof: async (from: number, to: number) => (await this.flushed()).consistencyProof(from, to),
  };
  private readonly keys = new Map<string, { pair: GeneratedKeyPair; status: KeyStatus }[]>();
  private readonly versions = new Map<string, VersionState>();
  private readonly now: () => number;

  constructor(options: FixtureRegistryOptions) {
    this.store = SqliteStore.open({ path: join(options.dir, `registry-${Math.random().toString(36).slice(2)}.db`) });
    this.logSigningKey = options.logKey ?? generateKeyPair().privateJwk;
    this.vkey = formatVerifierKey(LOG_ORIGIN, publicKeyOf(privateKeySeed(this.logSigningKey)));
    const key = this.logSigningKey;
    // the log takes the key it finds in the store: a shared key builds a fork (split view)
    this.opened = this.store
      .transaction((tx) => tx.insertRegistryKey({ kid: key.kid ?? 'log', purpose: 'log', private_jwk: JSON.stringify(key), created_at: 0 }))
      .then(() => TransparencyLog.open(this.store, { origin: LOG_ORIGIN }));
    this.attestationKey = options.attestationKey ?? generateKeyPair();
    this.now = options.now ?? (() => Date.now());
  }

  async close(): Promise<void> {
    await this.opened.catch(() => undefined);
    await this.store.close();
  }

  trustRootConfig(): TrustRootConfig {
    return {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [this.attestationKey.publicJwk] },
      pinnedKeyIds: [this.attestationKey.keyId],
      logKey: this.vkey,
    };
  }

  /** Queues an event; the next read of the log appends it, in order. */
  private append(event: LogEvent): void {
    this.pending.push(event);
  }

  /** Appends the queued events (and `event`, last, returning its index) in one transaction, signing its checkpoint. */
  private async appendNow(event?: LogEvent): Promise<number> {
    const log = await this.opened;
    const events = this.pending.splice(0);
    if (event !== undefined) events.push(event);
    if (events.length === 0) return -1;
    return this.store.transaction(async (tx) => {
      let index = -1;
      for (const e of events) index = await log.append(tx, canonicalBytes(e));
      await log.signCheckpoint(tx);
      return index;
    });
  }

  private async flushed(): Promise<TransparencyLog> {
    await this.appendNow();
    return this.opened;
  }

  /** Registers a namespace with a fresh key (a `namespace.registered` leaf). */
  registerNamespace(namespace: string): GeneratedKeyPair {
    const pair = generateKeyPair();
    const at = iso(this.now() - 3600_000);
    this.append({ type: LOG_EVENT_TYPE, kind: 'namespace.registered', at, actor: `key:${pair.keyId}`, namespace, keyId: pair.keyId, jwk: pair.publicJwk, verification: 'admin-grant' });
    this.keys.set(namespace, [{ pair, status: { keyId: pair.keyId, jwk: pair.publicJwk, status: 'active', addedAt: at } }]);
    return pair;
  }

  hasNamespace(namespace: string): boolean {
    return this.keys.has(namespace);
  }

  keyOf(namespace: string): GeneratedKeyPair {
    const k = this.keys.get(namespace)?.[0];
    if (k === undefined) throw new Error(`no namespace ${namespace}`);
    return k.pair;
  }

  revokeKey(namespace: string, keyId: string, revokedFrom: string, reason = 'compromised'): void {
    const entry = this.keys.get(namespace)?.find((k) => k.pair.keyId === keyId);
    if (entry === undefined) throw new Error('no such key');
    this.append({ type: LOG_EVENT_TYPE, kind: 'key.revoked', at: iso(this.now()), actor: 'admin:config', namespace, keyId, revokedFrom, reason });
    entry.status = { ...entry.status, status: 'revoked', revokedFrom, reason };
  }

  /** Signs a manifest (without publishing it). */
  async sign(namespace: string, definition: Record<string, unknown>, options: PublishOptions): Promise<SignedManifest> {
    const manifest: ToolManifest = {
      type: MANIFEST_TYPE,
      toolId: `${namespace}/${definition.name as string}`,
      version: options.version,
      provider: namespace,
      definition: definition as ToolManifest['definition'],
      permissions: options.permissions ?? [],
      ...(options.policy ? { policy: options.policy } : {}),
      issuedAt: options.issuedAt ?? iso(this.now() - 60_000),
    };
    return signManifest(manifest, [(options.signWith ?? this.keyOf(namespace)).privateJwk]);
  }

  /** Signs and publishes a version: the record and its `version.published` leaf. */
  async publish(namespace: string, definition: Record<string, unknown>, options: PublishOptions): Promise<ManifestRecord> {
    const signed = await this.sign(namespace, definition, options);
    return this.publishSigned(namespace, signed);
  }

  async publishSigned(namespace: string, signed: SignedManifest): Promise<ManifestRecord> {
    const signer = (this.keys.get(namespace) ?? []).find((k) => signed.signatures.some((s) => s.keyId === k.pair.keyId));
    if (signer === undefined) throw new Error('signer is not a key of the namespace');
    const v = await verifyManifestSignature(signed, (kid) => (kid === signer.pair.keyId ? signer.pair.publicJwk : undefined));
    const publishedAt = iso(this.now());
    const m = signed.manifest;
    const leafIndex = await this.appendNow({
      type: LOG_EVENT_TYPE,
      kind: 'version.published',
      at: publishedAt,
      actor: `key:${v.keyId}`,
      namespace,
      toolId: m.toolId,
      version: m.version,
      manifestDigest: v.manifestDigest,
      definitionDigest: v.definitionDigest,
      signerKeyId: v.keyId,
    });
    const record: ManifestRecord = {
      toolId: m.toolId,
      version: m.version,
      provider: namespace,
      signedManifest: signed,
      definitionDigest: v.definitionDigest,
      manifestDigest: v.manifestDigest,
      signerKeyId: v.keyId,
      publishedAt,
      publishedBy: `key:${v.keyId}`,
      leafIndex,
    };
    this.versions.set(`${m.toolId}@${m.version}`, { record });
    return record;
  }

  revokeVersion(toolId: string, version: string, reason = 'vulnerable'): void {
    const state = this.versions.get(`${toolId}@${version}`)!;
    const at = iso(this.now());
    this.append({ type: LOG_EVENT_TYPE, kind: 'version.revoked', at, actor: 'admin:config', namespace: state.record.provider, toolId, version, reason });
    state.revocation = { reason, revokedAt: at, by: 'admin:config' };
  }

  /** A signed attestation for a record, with overridable claims and times (for the attacks). */
  async attestation(record: VersionRecord, options: { iat?: number; exp?: number; claims?: Record<string, unknown>; key?: GeneratedKeyPair; typ?: string } = {}): Promise<string> {
    const key = options.key ?? this.attestationKey;
    const iat = options.iat ?? Math.floor(this.now() / 1000);
    const { sub: _sub, ...claims } = attestedVersionOf(record);
    return new SignJWT({ ...claims, ...options.claims })
      .setProtectedHeader({ alg: 'EdDSA', typ: options.typ ?? ATTESTATION_JWT_TYPE, kid: key.keyId })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(record.toolId)
      .setIssuedAt(iat)
      .setExpirationTime(options.exp ?? iat + 600)
      .sign(await importJWK(key.privateJwk, 'EdDSA'));
  }

  /** The bundle as the registry would serve it now (fresh attestation, proof against the newest checkpoint). */
  async bundle(toolId: string, version: string, attestation: Parameters<FixtureRegistry['attestation']>[1] = {}): Promise<ManifestBundle> {
    const state = this.versions.get(`${toolId}@${version}`);
    if (state === undefined) throw new Error(`no ${toolId}@${version}`);
    const { record } = state;
    const signerKey = (this.keys.get(record.provider) ?? []).find((k) => k.pair.keyId === record.signerKeyId)!.status;
    return {
      type: 'etdi.bundle/v1',
      record,
      status: {
        toolId,
        version,
        status: state.revocation ? 'revoked' : 'active',
        ...(state.revocation ? { revocation: state.revocation } : {}),
        signerKey,
        attestation: await this.attestation(record, attestation),
        log: await this.log.evidence(record.leafIndex),
      },
    };
  }

  latest(toolId: string): string {
    const versions = [...this.versions.values()].filter((v) => v.record.toolId === toolId).map((v) => v.record.version);
    return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
  }
}

/** What the registry attests about a record (a single token's claims with `sub`, one entry of a set). */
export function attestedVersionOf(record: VersionRecord): AttestedVersion {
  return {
    sub: record.toolId,
    tool_version: record.version,
    provider: record.provider,
    definition_digest: record.definitionDigest,
    manifest_digest: record.manifestDigest,
    scope: isDeclarationRecord(record) ? '' : record.signedManifest.manifest.permissions.join(' '),
    log_index: record.leafIndex,
  };
}
