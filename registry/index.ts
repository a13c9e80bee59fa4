export { createApp, type CreateAppOptions, type RegistryApp } from './app.js';
export { startServer, type StartServerOptions, type RunningRegistry } from './server.js';
export {
  DEFAULT_CONFIG,
  resolveConfig,
  configFromEnv,
  type RegistryConfig,
  type RegistryConfigInput,
  type RateLimitConfig,
  type RegistryLimits,
  type WellKnownConfig,
} from './config.js';
export { RegistryError, toRegistryError, type RegistryErrorCode, type RegistryErrorOptions } from './errors.js';
export { SqliteStore, DEFAULT_DB_PATH, type OpenSqliteOptions } from './store/sqlite/sqlite-store.js';
export { PostgresStore, WRITE_LOCK_KEY, POOL_DEFAULTS, type PostgresStoreOptions, type PoolOptions } from './store/postgres/index.js';
export { openStore, isPostgresUrl, databaseForDisplay, type OpenStoreOptions } from './store/open-store.js';
export type {
  Store,
  StoreReader,
  StoreTx,
  StoreCounts,
  NamespaceRow,
  KeyRow,
  ToolRow,
  VersionRow,
  AuditRow,
  RegistryKeyRow,
  StoredCheckpoint,
  TreeReader,
  TreeWriter,
} from './store/types.js';
export { lockDataDir, DataDirLockedError, DATA_LOCK_FILE, type DataLock, type DataLockHolder } from './store/data-lock.js';
export { MIGRATIONS } from './store/sqlite/migrations.js';
export { fsckRegistry, fsckSqliteFile, registryEntryCheck } from './store/fsck.js';
export { copySqliteToPostgres, CopyRefused, type CopyReport } from './store/copy-to-postgres.js';
export { WriteQueue, type WriteQueueStats, type WriterHealth } from './services/write-queue.js';
export { ROUTES, buildOpenApi, type RouteSpec } from './openapi.js';
export { problemType, toProblem } from './http/problem.js';
export {
  namespaceDomain,
  wellKnownUrl,
  WELL_KNOWN_PATH,
  systemResolver,
  type HostResolver,
  type ResolvedAddress,
} from './services/well-known.js';
export { isPublicAddress, addressOfHost } from '@etdi/protocol/node';
export { validateManifestPolicy } from './services/publish.js';
export type { Principal, RegistryContext } from './services/context.js';
export { registerNamespace } from './services/namespaces.js';
export { publish } from './services/publish.js';
export { publishDeclarations } from './services/publish-declarations.js';
export { batchedLines, requestLog } from './http/request-log.js';
export {
  LogError,
  TransparencyLog,
  fsckLog,
  type LogErrorCode,
  type TransparencyLogOptions,
  type FsckOptions,
  type FsckReport,
  type FsckProblem,
  type FsckProblemCode,
} from './log/index.js';
