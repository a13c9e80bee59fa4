import { LIMITS } from '@etdi/schemas';
import { batchedLines } from './http/request-log.js';
import { DEFAULT_WEB_ASSETS_DIR } from './web/assets.js';

export interface RateLimitConfig {
  /** Bucket size: the burst a client may send at once. */
  capacity: number;
  /** Tokens added per second: the sustained request rate of one client. */
  refillPerSecond: number;
}

export interface WellKnownConfig {
  /**
   * DEV/TEST ONLY. Allows plain http for the domain-control document, and only towards a loopback
   * host (127.0.0.1, ::1, localhost). Off by default: in production the document is HTTPS only.
   */
  allowHttpLoopback: boolean;
  /** DEV/TEST ONLY (needs allowHttpLoopback): domain -> loopback `host:port` to fetch it from. */
  hostOverrides: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
}

export interface RegistryConfig {
  /** The registry's origin: `iss` of every JWT it signs and the `registry` every statement must name. */
  origin: string;
  /** `aud` of attestation tokens (what client verifiers check). */
  attestationAudience: string;
  /** Lifetime of attestation tokens, seconds (short: a revocation reaches clients within it). */
  attestationTtlSeconds: number;
  /** Lifetime of publisher tokens, seconds. */
  publisherTokenTtlSeconds: number;
  /** How far a statement's `issuedAt` (and a manifest's) may be from the registry's clock. */
  maxClockSkewSeconds: number;
  /** The administrator's bearer token (compared in constant time); no admin when undefined. */
  adminToken: string | undefined;
  /** Request bodies larger than this are refused with 413 before any parsing. */
  maxBodyBytes: number;
  /** Per-client token bucket (by socket address), or false to disable (benchmarks only). */
  rateLimit: RateLimitConfig | false;
  /** Serialised immutable version records kept in memory. */
  recordCacheSize: number;
  wellKnown: WellKnownConfig;
  /** Where one JSON line per request goes; false disables request logs. */
  requestLog: ((line: string) => void) | false;
  /** Where unexpected errors are logged (one JSON line each). */
  errorLog: (line: string) => void;
  /** Max wait for in-flight requests on shutdown before connections are closed. */
  shutdownGraceMs: number;
  /**
   * Where publish batches commit (services/write-queue.ts). 'auto': on a worker thread with its
   * own connection when the store is a file and the registry runs compiled (the event loop keeps
   * parsing and verifying while the batch's SQL and fsync run on the other core), else on the
   * event loop's connection. 'off': always on the event loop. A URL: that compiled write worker
   * (tests bundle it from the sources). Durability is the same either way.
   */
  writeWorker: 'auto' | 'off' | URL;
  /**
   * The directory holding the web interface's bundled browser script (web.js, written by
   * `npm run build`); the pages work without it, the in-browser verification needs it.
   */
  webAssetsDir: string;
}

export const DEFAULT_CONFIG: RegistryConfig = {
  origin: 'http://127.0.0.1:8080',
  attestationAudience: 'etdi-clients',
  attestationTtlSeconds: 600,
  publisherTokenTtlSeconds: 900,
  maxClockSkewSeconds: 300,
  adminToken: undefined,
  maxBodyBytes: LIMITS.maxManifestBytes,
  rateLimit: { capacity: 200, refillPerSecond: 100 },
  recordCacheSize: 10_000,
  wellKnown: { allowHttpLoopback: false, hostOverrides: {}, timeoutMs: 5_000, maxBytes: 16 * 1024 },
  requestLog: batchedLines((chunk) => process.stdout.write(chunk)),
  errorLog: (line) => process.stderr.write(line + '\n'),
  shutdownGraceMs: 10_000,
  writeWorker: 'auto',
  webAssetsDir: DEFAULT_WEB_ASSETS_DIR,
};

export type RegistryConfigInput = Partial<Omit<RegistryConfig, 'wellKnown'>> & { wellKnown?: Partial<WellKnownConfig> };

/** Fills defaults and checks the values that would make the service unsafe. */
export function resolveConfig(input: RegistryConfigInput = {}): RegistryConfig {
  const config: RegistryConfig = {
    ...DEFAULT_CONFIG,
    ...input,
    wellKnown: { ...DEFAULT_CONFIG.wellKnown, ...input.wellKnown },
  };
  if (config.adminToken !== undefined && config.adminToken.length < 16)
    throw new RangeError('config.adminToken must be at least 16 characters');
  if (!Number.isInteger(config.maxBodyBytes) || config.maxBodyBytes < 1024)
    throw new RangeError('config.maxBodyBytes must be an integer >= 1024');
  if (config.attestationTtlSeconds < 1 || config.publisherTokenTtlSeconds < 1)
    throw new RangeError('token lifetimes must be positive');
  new URL(config.origin); // throws TypeError on a bad origin
  if (config.writeWorker !== 'auto' && config.writeWorker !== 'off' && !(config.writeWorker instanceof URL))
    throw new RangeError("config.writeWorker must be 'auto', 'off' or the URL of a write worker");
  return config;
}

/** Reads ETDI_* environment variables (see docs/REST-API.md, "Configuration"). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryConfigInput {
  const out: RegistryConfigInput = {};
  if (env.ETDI_ORIGIN) out.origin = env.ETDI_ORIGIN;
  if (env.ETDI_ADMIN_TOKEN) out.adminToken = env.ETDI_ADMIN_TOKEN;
  if (env.ETDI_ATTESTATION_AUDIENCE) out.attestationAudience = env.ETDI_ATTESTATION_AUDIENCE;
  if (env.ETDI_ATTESTATION_TTL) out.attestationTtlSeconds = Number(env.ETDI_ATTESTATION_TTL);
  if (env.ETDI_REQUEST_LOG === 'off') out.requestLog = false;
  if (env.ETDI_WRITE_WORKER === 'off') out.writeWorker = 'off';
  return out;
}
