import type Database from 'better-sqlite3';

/**
 * Schema migrations, in code, applied in order inside one transaction each. `user_version`
 * records how many have run. Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE namespaces (
    namespace    TEXT PRIMARY KEY,
    -- TR39 confusable skeleton (protocol/confusables.ts): indexed so a look-alike check is one lookup
    skeleton     TEXT NOT NULL,
    verification TEXT NOT NULL CHECK (verification IN ('well-known', 'admin-grant')),
    registered_at TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    leaf_index   INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX namespaces_skeleton ON namespaces(skeleton);

  CREATE TABLE keys (
    namespace    TEXT NOT NULL REFERENCES namespaces(namespace),
    key_id       TEXT NOT NULL,
    jwk          TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    added_by     TEXT NOT NULL,
    leaf_index   INTEGER NOT NULL,
    revoked_from TEXT,
    revoked_at   TEXT,
    revoked_reason TEXT,
    PRIMARY KEY (namespace, key_id)
  ) STRICT;

  CREATE TABLE tools (
    tool_id      TEXT PRIMARY KEY,
    namespace    TEXT NOT NULL REFERENCES namespaces(namespace),
    name         TEXT NOT NULL,
    latest_version TEXT NOT NULL,
    title        TEXT,
    description  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
  ) STRICT;
  CREATE INDEX tools_namespace ON tools(namespace);

  CREATE TABLE versions (
    tool_id      TEXT NOT NULL REFERENCES tools(tool_id),
    version      TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    signed_manifest TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    definition_digest TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    leaf_index   INTEGER NOT NULL,
    revoked_at   TEXT,
    revoked_reason TEXT,
    revoked_by   TEXT,
    PRIMARY KEY (tool_id, version)
  ) STRICT;

  -- the audit trail: one row per state change, with its transparency-log leaf (same transaction)
  CREATE TABLE audit (
    leaf_index   INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    event        TEXT NOT NULL
  ) STRICT;

  -- signed statements already used (replay protection inside the freshness window)
  CREATE TABLE used_statements (
    digest       TEXT PRIMARY KEY,
    expires_at   INTEGER NOT NULL
  ) STRICT;

  -- the registry's own signing keys (attestation and publisher JWTs, log checkpoints)
  CREATE TABLE registry_keys (
    kid          TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL CHECK (purpose IN ('jwt', 'log')),
    private_jwk  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER
  ) STRICT;
  `,
];

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
