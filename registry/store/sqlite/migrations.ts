import type Database from 'better-sqlite3';
import { isSignatureVoid } from '@etdi/protocol';

/** A migration: SQL, or a function for what SQL cannot compute (it runs in the same transaction). */
export type Migration = string | ((db: Database.Database) => void);

/**
 * Schema migrations, in code, applied in order inside one transaction each. `user_version`
 * records how many have run. Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly Migration[] = [
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
  // issue 17: reads of one tool cost the same at 1 and 100,000 versions. Versions of a tool are
  // published in strictly increasing semver order (VERSION_NOT_HIGHER), so leaf order is version
  // order: `latest` is the first row of a partial index, the list is paged by leaf index, and
  // stored counts answer the per-tool and per-namespace limits (a COUNT per new tool would grow
  // with the namespace). signature_void marks the versions a key revocation
  // voids (protocol/key-revocation.ts), set in the revocation's transaction.
  `
  ALTER TABLE versions ADD COLUMN signature_void INTEGER NOT NULL DEFAULT 0 CHECK (signature_void IN (0, 1));
  ALTER TABLE tools ADD COLUMN version_count INTEGER NOT NULL DEFAULT 0;
  UPDATE tools SET version_count = (SELECT count(*) FROM versions v WHERE v.tool_id = tools.tool_id);
  ALTER TABLE namespaces ADD COLUMN tool_count INTEGER NOT NULL DEFAULT 0;
  UPDATE namespaces SET tool_count = (SELECT count(*) FROM tools t WHERE t.namespace = namespaces.namespace);
  CREATE INDEX versions_by_leaf ON versions(tool_id, leaf_index);
  CREATE INDEX versions_live ON versions(tool_id, leaf_index) WHERE revoked_at IS NULL AND signature_void = 0;
  CREATE INDEX versions_by_definition ON versions(tool_id, definition_digest, leaf_index);
  CREATE INDEX versions_by_signer ON versions(namespace, signer_key_id);
  -- an emergency revocation of a registry signing key (out of the JWKS at once, verifies nothing)
  ALTER TABLE registry_keys ADD COLUMN revoked_at INTEGER;
  `,
  (db) => {
    // the versions already voided by the keys revoked before this migration
    const revoked = db.prepare<[], { namespace: string; key_id: string; revoked_from: string }>('SELECT namespace, key_id, revoked_from FROM keys WHERE revoked_from IS NOT NULL').all();
    for (const key of revoked) markVoidSignatures(db, key.namespace, key.key_id, key.revoked_from);
  },
];

/**
 * Sets signature_void on the versions signed by `keyId` that its revocation from `revokedFrom`
 * voids. Runs in the revocation's transaction (RegistryStore.revokeKey) and in migration 3.
 */
export function markVoidSignatures(db: Database.Database, namespace: string, keyId: string, revokedFrom: string): number {
  const rows = db
    .prepare<[string, string], { tool_id: string; version: string; issued_at: string; published_at: string }>(
      "SELECT tool_id, version, json_extract(signed_manifest, '$.manifest.issuedAt') AS issued_at, published_at FROM versions WHERE namespace = ? AND signer_key_id = ? AND signature_void = 0",
    )
    .all(namespace, keyId);
  const mark = db.prepare<[string, string]>('UPDATE versions SET signature_void = 1 WHERE tool_id = ? AND version = ?');
  let n = 0;
  for (const row of rows)
    if (isSignatureVoid(revokedFrom, { issuedAt: row.issued_at, publishedAt: row.published_at })) n += mark.run(row.tool_id, row.version).changes;
  return n;
}

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      const migration = MIGRATIONS[i]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
