import type pg from 'pg';

/**
 * The PostgreSQL schema, as versioned migrations applied in order; `schema_migrations` records
 * each one applied. Never edit a released migration: append a new one.
 *
 * Migration 1 is the meaning of SQLite migrations 1-3 (store/migrations.ts) and LOG_SCHEMA
 * (log/tree-store.ts) at once, for a fresh database:
 * - every text column is COLLATE "C": ordering and comparison (`tool_id > $1`, ORDER BY key_id)
 *   is bytewise like SQLite's BINARY, whatever collation the database was created with, and
 *   ILIKE folds ASCII letters only, like SQLite's LIKE;
 * - leaf indexes and sizes are bigint (the store reads them back as safe JS numbers: pool.ts);
 * - hashes and leaf data are bytea.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE namespaces (
    namespace     text COLLATE "C" PRIMARY KEY,
    -- TR39 confusable skeleton (protocol/confusables.ts): indexed so a look-alike check is one lookup
    skeleton      text COLLATE "C" NOT NULL,
    verification  text COLLATE "C" NOT NULL CHECK (verification IN ('well-known', 'admin-grant')),
    registered_at text COLLATE "C" NOT NULL,
    registered_by text COLLATE "C" NOT NULL,
    leaf_index    bigint NOT NULL,
    -- stored count: the per-namespace limit reads it (a COUNT would grow with the namespace)
    tool_count    integer NOT NULL DEFAULT 0
  );
  CREATE INDEX namespaces_skeleton ON namespaces (skeleton);

  CREATE TABLE keys (
    namespace      text COLLATE "C" NOT NULL REFERENCES namespaces (namespace),
    key_id         text COLLATE "C" NOT NULL,
    jwk            text COLLATE "C" NOT NULL,
    added_at       text COLLATE "C" NOT NULL,
    added_by       text COLLATE "C" NOT NULL,
    leaf_index     bigint NOT NULL,
    revoked_from   text COLLATE "C",
    revoked_at     text COLLATE "C",
    revoked_reason text COLLATE "C",
    PRIMARY KEY (namespace, key_id)
  );

  CREATE TABLE tools (
    tool_id        text COLLATE "C" PRIMARY KEY,
    namespace      text COLLATE "C" NOT NULL REFERENCES namespaces (namespace),
    name           text COLLATE "C" NOT NULL,
    latest_version text COLLATE "C" NOT NULL,
    version_count  integer NOT NULL DEFAULT 0,
    title          text COLLATE "C",
    description    text COLLATE "C",
    created_at     text COLLATE "C" NOT NULL,
    updated_at     text COLLATE "C" NOT NULL
  );
  -- toolsOf: a namespace's tools in id order
  CREATE INDEX tools_namespace ON tools (namespace, tool_id);

  -- Versions of a tool are published in strictly increasing semver order (VERSION_NOT_HIGHER),
  -- so leaf order is version order: latest live is the first row of the partial index
  -- versions_live, and pages are index ranges by leaf (issue 17: one tool's reads cost the same
  -- at 1 and 100,000 versions).
  CREATE TABLE versions (
    tool_id           text COLLATE "C" NOT NULL REFERENCES tools (tool_id),
    version           text COLLATE "C" NOT NULL,
    namespace         text COLLATE "C" NOT NULL,
    signed_manifest   text COLLATE "C" NOT NULL,
    manifest_digest   text COLLATE "C" NOT NULL,
    definition_digest text COLLATE "C" NOT NULL,
    signer_key_id     text COLLATE "C" NOT NULL,
    published_at      text COLLATE "C" NOT NULL,
    published_by      text COLLATE "C" NOT NULL,
    leaf_index        bigint NOT NULL,
    revoked_at        text COLLATE "C",
    revoked_reason    text COLLATE "C",
    revoked_by        text COLLATE "C",
    -- 1 when its signer key's revocation voids the signature (protocol/key-revocation.ts)
    signature_void    smallint NOT NULL DEFAULT 0 CHECK (signature_void IN (0, 1)),
    PRIMARY KEY (tool_id, version)
  );
  CREATE INDEX versions_by_leaf ON versions (tool_id, leaf_index);
  CREATE INDEX versions_live ON versions (tool_id, leaf_index) WHERE revoked_at IS NULL AND signature_void = 0;
  CREATE INDEX versions_by_definition ON versions (tool_id, definition_digest, leaf_index);
  CREATE INDEX versions_by_signer ON versions (namespace, signer_key_id);

  -- the audit trail: one row per state change, with its transparency-log leaf (same transaction)
  CREATE TABLE audit (
    leaf_index bigint PRIMARY KEY,
    at         text COLLATE "C" NOT NULL,
    actor      text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL,
    subject    text COLLATE "C" NOT NULL,
    event      text COLLATE "C" NOT NULL
  );

  -- signed statements already used (replay protection inside the freshness window)
  CREATE TABLE used_statements (
    digest     text COLLATE "C" PRIMARY KEY,
    expires_at bigint NOT NULL
  );
  -- every use purges the expired ones first: an index range, not a scan
  CREATE INDEX used_statements_expiry ON used_statements (expires_at);

  -- the registry's own signing keys (attestation and publisher JWTs, log checkpoints)
  CREATE TABLE registry_keys (
    kid         text COLLATE "C" PRIMARY KEY,
    purpose     text COLLATE "C" NOT NULL CHECK (purpose IN ('jwt', 'log')),
    private_jwk text COLLATE "C" NOT NULL,
    created_at  bigint NOT NULL,
    retired_at  bigint,
    -- an emergency revocation: out of the JWKS at once, verifies nothing
    revoked_at  bigint
  );

  -- The transparency log (RFC 9162 tree; the log computes, the store keeps): see
  -- log/tree-store.ts. log_nodes holds the hash of every perfect subtree, written when its last
  -- leaf arrives and never changed; level 0 holds the leaf hashes.
  CREATE TABLE log_meta (name text COLLATE "C" PRIMARY KEY, value text COLLATE "C" NOT NULL);
  CREATE TABLE log_leaves (idx bigint PRIMARY KEY CHECK (idx >= 0), data bytea NOT NULL);
  CREATE TABLE log_nodes (
    level integer NOT NULL CHECK (level >= 0),
    idx   bigint NOT NULL CHECK (idx >= 0),
    hash  bytea NOT NULL,
    PRIMARY KEY (level, idx)
  );
  CREATE INDEX log_leaf_hash ON log_nodes (hash) WHERE level = 0;
  CREATE TABLE log_checkpoints (
    size       bigint PRIMARY KEY,
    root       bytea NOT NULL,
    note       text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL
  );
  `,
];

/**
 * Applies the migrations `client` has not applied yet; returns the schema version. The caller
 * runs it inside a transaction holding the store's write lock (postgres-store.ts), so processes
 * starting together apply each migration once, one after the other, and a failed migration
 * leaves nothing: PostgreSQL's DDL is transactional.
 */
export async function applyMigrations(client: pg.ClientBase): Promise<number> {
  await client.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  const current = await schemaVersionOf(client);
  if (current > POSTGRES_MIGRATIONS.length)
    throw new Error(
      `the PostgreSQL database is at schema version ${current}, newer than this registry knows (${POSTGRES_MIGRATIONS.length}): upgrade the registry`,
    );
  for (let version = current + 1; version <= POSTGRES_MIGRATIONS.length; version++) {
    await client.query(POSTGRES_MIGRATIONS[version - 1]!);
    await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
  }
  return POSTGRES_MIGRATIONS.length;
}

/** The number of migrations applied (schema_migrations exists). */
async function schemaVersionOf(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
  return rows[0]?.v ?? 0;
}
