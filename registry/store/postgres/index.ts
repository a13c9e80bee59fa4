// The PostgreSQL store's public names (the registry's index.ts decides which of them it re-exports).
export { PostgresStore, WRITE_LOCK_KEY, type PostgresStoreOptions } from './postgres-store.js';
export { POOL_DEFAULTS, type PoolOptions } from './pool.js';
export { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
