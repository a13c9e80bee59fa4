import { LIMITS, MAX_BUNDLE_SET } from '@etdi/schemas';
import { batchedLines } from './http/request-log.js';
import { checkDnsTxtOptions } from './services/dns-txt.js';
import { systemResolver, type HostResolver } from './services/well-known.js';
import { DEFAULT_WEB_ASSETS_DIR } from './web/assets.js';

export interface RateLimitConfig {
  /** Bucket size: the burst a client may send at once. */
  capacity: number;
  /** Tokens added per second: the sustained request rate of one client. */
  refillPerSecond: number;
  /** Clients (IPv4 addresses, IPv6 /64s) with a bucket at once: the limiter's memory bound. */
  maxClients: number;
}

export interface WellKnownConfig {
  /**
   * DEV/TEST ONLY. Allows plain http for the domain-control document, and only towards a loopback
   * host (127.0.0.1, ::1, localhost). Off by default: in production the document is HTTPS only.
   */
  allowHttpLoopback: boolean;
  /**
   * DEV/TEST ONLY (needs allowHttpLoopback): domain -> loopback `host:port` to fetch it from.
   * This is the development override of the public-address rule: only the domains listed here,
   * only towards loopback, only with allowHttpLoopback; `etdi serve` never sets it.
   */
  hostOverrides: Record<string, string>;
  /** Resolves the domain's host name (the system resolver by default); every answer must be public. */
  resolve: HostResolver;
  timeoutMs: number;
  /** The document's size cap: its body is read as a stream and cut here. */
  maxBytes: number;
  /** Domain-control fetches in flight, in total (503 OVERLOADED beyond). */
  maxConcurrent: number;
  /** Domain-control fetches in flight per client (the rate limiter's key; 429 beyond). */
  maxConcurrentPerClient: number;
}

/** How much one namespace and one tool may hold (each refusal has its own code). */
export interface RegistryLimits {
  /** Versions of one tool (409 TOO_MANY_VERSIONS beyond). */
  versionsPerTool: number;
  /** Tools of one namespace (409 TOO_MANY_TOOLS beyond). */
  toolsPerNamespace: number;
}

export interface RegistryConfig {
  /** The registry's origin: `iss` of every JWT it signs and the `registry` every statement must name. */
  origin: string;
  /**
   * The transparency log's C2SP origin line (its checkpoints' first line, e.g.
   * `registry.example/etdi-log`): fixed for the life of the database, which refuses another.
   */
  logOrigin: string;
  /** `aud` of attestation tokens (what client verifiers check). */
  attestationAudience: string;
  /** Lifetime of attestation tokens, seconds (short: a revocation reaches clients within it). */
  attestationTtlSeconds: number;
  /** Lifetime of publisher tokens, seconds. */
  publisherTokenTtlSeconds: number;
  /**
   * The oldest publisher token accepted, seconds since its `iat`, whatever its `exp` says: a
   * token minted with a long `exp` (a leaked or misused registry key) dies after this anyway.
   */
  publisherTokenMaxAgeSeconds: number;
  /** Per-tool and per-namespace limits. */
  limits: RegistryLimits;
  /** Simultaneous TCP connections the server accepts (server.maxConnections; more are dropped). */
  maxConnections: number;
  /** Time allowed to receive a request's headers, ms (slow-header connections are closed). */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request, ms. */
  requestTimeoutMs: number;
  /** How far a statement's `issuedAt` (and a manifest's) may be from the registry's clock. */
  maxClockSkewSeconds: number;
  /** The administrator's bearer token (compared in constant time); no admin when undefined. */
  adminToken: string | undefined;
  /** Request bodies larger than this are refused with 413 before any parsing. */
  maxBodyBytes: number;
  /** The same bound for a SEP-3140 publish (POST /v1/declarations: a whole server's declarations). */
  maxDeclarationsBodyBytes: number;
  /** Per-client token bucket (by socket address), or false to disable (benchmarks only). */
  rateLimit: RateLimitConfig | false;
  /** Serialised immutable version records kept in memory (and attestations), at most. */
  recordCacheSize: number;
  /** Bytes the record cache may hold (records, keys, entry overhead): its memory bound. */
  recordCacheBytes: number;
  /** Bytes the attestation cache may hold. */
  attestationCacheBytes: number;
  wellKnown: WellKnownConfig;
  /**
   * DNS servers asked for the TXT record of an MCP Registry DNS domain proof (`1.1.1.1`,
   * `[2606:4700::1111]:53`); empty, the default: DNS proofs are refused (DNS_PROOF_NOT_CONFIGURED).
   */
  dnsProofServers: readonly string[];
  /** One DNS proof lookup, retries included, ms. */
  dnsProofTimeoutMs: number;
  /** The TXT records of a domain together, bytes: a larger answer is refused. */
  dnsProofMaxBytes: number;
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
  /** Write-worker deaths per minute answered with a restart; beyond, the writer stays down (/readyz 503). */
  writeWorkerRestartsPerMinute: number;
  /**
   * With a PostgreSQL store (several processes), how often each process reloads the registry's
   * signing keys: a rotation or an emergency revocation made through another process reaches
   * this one within this many seconds. A SQLite store has one process and never reloads.
   */
  registryKeyRefreshSeconds: number;
  /**
   * The directory holding the web interface's bundled browser script (web.js, written by
   * `npm run build`); the pages work without it, the in-browser verification needs it.
   */
  webAssetsDir: string;
}

export const DEFAULT_CONFIG: RegistryConfig = {
  origin: 'http://127.0.0.1:8080',
  logOrigin: 'etdi-registry.local/log',
  attestationAudience: 'etdi-clients',
  attestationTtlSeconds: 600,
  publisherTokenTtlSeconds: 900,
  publisherTokenMaxAgeSeconds: 900,
  limits: { versionsPerTool: 10_000, toolsPerNamespace: 10_000 },
  maxConnections: 1_024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxClockSkewSeconds: 300,
  adminToken: undefined,
  maxBodyBytes: LIMITS.maxManifestBytes,
  maxDeclarationsBodyBytes: 1024 * 1024,
  // the burst holds the largest bundle set (MAX_BUNDLE_SET versions) with room to spare
  rateLimit: { capacity: 2 * MAX_BUNDLE_SET, refillPerSecond: 100, maxClients: 100_000 },
  recordCacheSize: 10_000,
  recordCacheBytes: 16 * 1024 * 1024,
  attestationCacheBytes: 8 * 1024 * 1024,
  wellKnown: {
    allowHttpLoopback: false,
    hostOverrides: {},
    resolve: systemResolver,
    timeoutMs: 5_000,
    maxBytes: 16 * 1024,
    maxConcurrent: 16,
    maxConcurrentPerClient: 2,
  },
  dnsProofServers: [],
  dnsProofTimeoutMs: 3_000,
  dnsProofMaxBytes: 4_096,
  requestLog: batchedLines((chunk) => process.stdout.write(chunk)),
  errorLog: (line) => process.stderr.write(line + '\n'),
  shutdownGraceMs: 10_000,
  writeWorker: 'auto',
  writeWorkerRestartsPerMinute: 3,
  registryKeyRefreshSeconds: 5,
  webAssetsDir: DEFAULT_WEB_ASSETS_DIR,
};

export type RegistryConfigInput = Partial<Omit<RegistryConfig, 'wellKnown' | 'rateLimit' | 'limits'>> & {
  wellKnown?: Partial<WellKnownConfig>;
  rateLimit?: (Partial<RateLimitConfig> & Pick<RateLimitConfig, 'capacity' | 'refillPerSecond'>) | false;
  limits?: Partial<RegistryLimits>;
};

/** Fills defaults and checks the values that would make the service unsafe. */
export function resolveConfig(input: RegistryConfigInput = {}): RegistryConfig {
  const config: RegistryConfig = {
    ...DEFAULT_CONFIG,
    ...input,
    wellKnown: { ...DEFAULT_CONFIG.wellKnown, ...input.wellKnown },
    rateLimit: input.rateLimit === false ? false : { ...(DEFAULT_CONFIG.rateLimit as RateLimitConfig), ...input.rateLimit },
    limits: { ...DEFAULT_CONFIG.limits, ...input.limits },
  };
  for (const [name, value] of Object.entries(config.limits))
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`config.limits.${name} must be a positive integer`);
  if (config.publisherTokenMaxAgeSeconds < config.publisherTokenTtlSeconds)
    throw new RangeError('config.publisherTokenMaxAgeSeconds must be at least config.publisherTokenTtlSeconds');
  if (config.adminToken !== undefined && config.adminToken.length < 16)
    throw new RangeError('config.adminToken must be at least 16 characters');
  for (const name of ['maxBodyBytes', 'maxDeclarationsBodyBytes'] as const)
    if (!Number.isInteger(config[name]) || config[name] < 1024) throw new RangeError(`config.${name} must be an integer >= 1024`);
  if (config.attestationTtlSeconds < 1 || config.publisherTokenTtlSeconds < 1)
    throw new RangeError('token lifetimes must be positive');
  new URL(config.origin); // throws TypeError on a bad origin
  if (!Number.isInteger(config.maxConnections) || config.maxConnections < 1) throw new RangeError('config.maxConnections must be a positive integer');
  if (!(config.headersTimeoutMs > 0 && config.requestTimeoutMs >= config.headersTimeoutMs))
    throw new RangeError('config.headersTimeoutMs must be positive and at most config.requestTimeoutMs');
  if (config.writeWorker !== 'auto' && config.writeWorker !== 'off' && !(config.writeWorker instanceof URL))
    throw new RangeError("config.writeWorker must be 'auto', 'off' or the URL of a write worker");
  checkDnsTxtOptions({ servers: config.dnsProofServers, timeoutMs: config.dnsProofTimeoutMs, maxBytes: config.dnsProofMaxBytes }, 'config.dnsProof');
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
  if (env.ETDI_DNS_PROOF_SERVERS) out.dnsProofServers = env.ETDI_DNS_PROOF_SERVERS.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return out;
}
