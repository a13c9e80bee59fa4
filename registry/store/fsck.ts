import Database from 'better-sqlite3';
import { canonicalize } from '@etdi/protocol';
import { storedDigests } from '../services/stored-document.js';
import { fsckLog, tablesMissingReport, type FsckEntry, type FsckOptions, type FsckReport } from '../log/fsck.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { LOG_TABLES } from './sqlite/tree.js';
import type { StoreReader } from './types.js';

/** The registry's state tables (migrations.ts), which fsck cross-checks against the log. */
const REGISTRY_TABLES = ['namespaces', 'keys', 'tools', 'versions', 'audit', 'used_statements', 'registry_keys'] as const;

/**
 * The registry's half of fsck: every log leaf must be exactly the audit row at its index and
 * must point at the state row it created (namespace, key, version with that leaf index); a
 * published version's stored manifest must still hash to the digests its leaf and row name, so a
 * manifest rewritten in the database is found even where the digest columns were left alone.
 * Reads only: a read-only connection is enough (`etdi log verify`).
 */
export function registryEntryCheck(store: StoreReader): (entry: FsckEntry) => Promise<void> {
  return async (entry) => {
    const [row] = await store.auditRange(entry.index, entry.index + 1);
    if (row === undefined) throw new Error(`leaf ${entry.index} has no audit row`);
    if (entry.event === undefined) throw new Error(`leaf ${entry.index} is not a log event`);
    if (row.event !== canonicalize(entry.event)) throw new Error(`leaf ${entry.index} differs from its audit row`);
    const e = entry.event;
    switch (e.kind) {
      case 'namespace.registered':
        if ((await store.getNamespace(e.namespace))?.leaf_index !== entry.index) throw new Error(`namespace ${e.namespace} does not point at leaf ${entry.index}`);
        break;
      case 'key.added':
        if ((await store.getKey(e.namespace, e.keyId))?.leaf_index !== entry.index) throw new Error(`key ${e.keyId} does not point at leaf ${entry.index}`);
        break;
      case 'key.revoked':
        if ((await store.getKey(e.namespace, e.keyId))?.revoked_from !== e.revokedFrom) throw new Error(`key ${e.keyId} is not revoked as leaf ${entry.index} says`);
        break;
      case 'version.published': {
        const v = await store.getVersion(e.toolId, e.version);
        if (v?.leaf_index !== entry.index || v.manifest_digest !== e.manifestDigest || v.definition_digest !== e.definitionDigest || v.signer_key_id !== e.signerKeyId)
          throw new Error(`${e.toolId}@${e.version} does not match leaf ${entry.index}`);
        const stored = storedDigests(v.signed_manifest);
        if (stored?.manifest !== e.manifestDigest || stored.definition !== e.definitionDigest)
          throw new Error(`the stored manifest of ${e.toolId}@${e.version} is not the one leaf ${entry.index} logged`);
        break;
      }
      case 'version.revoked':
        if ((await store.getVersion(e.toolId, e.version))?.revoked_reason !== e.reason) throw new Error(`${e.toolId}@${e.version} is not revoked as leaf ${entry.index} says`);
        break;
    }
  };
}

/**
 * fsckLog plus the cross-check of every leaf against the registry's state, and audit rows
 * without leaves. Reads only, through the store interface: the same check on either store.
 */
export async function fsckRegistry(store: StoreReader, options: Omit<FsckOptions, 'onEntry'> = {}): Promise<FsckReport> {
  const report = await fsckLog(store.tree, { ...options, onEntry: registryEntryCheck(store) });
  const orphans = await store.auditRange(report.size, report.size + 10);
  for (const o of orphans) report.problems.push({ code: 'ENTRY_REJECTED', message: `audit row ${o.leaf_index} has no log leaf`, index: o.leaf_index });
  report.ok = report.ok && orphans.length === 0;
  return report;
}

/**
 * fsckRegistry on a SQLite file, opened read-only (a backup, or a stopped registry's database);
 * a file that lacks the registry's tables is reported as TABLES_MISSING, in plain words.
 */
export async function fsckSqliteFile(path: string, options: Omit<FsckOptions, 'onEntry'> = {}): Promise<FsckReport> {
  const probe = new Database(path, { readonly: true, fileMustExist: true });
  let missing: string[];
  try {
    const has = probe.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?");
    missing = [...LOG_TABLES, ...REGISTRY_TABLES].filter((t) => has.get(t)!.n === 0);
  } finally {
    probe.close();
  }
  // not a registry database at all (no audit trail): name what a log needs first
  if (missing.includes('audit')) {
    const log = missing.filter((t) => (LOG_TABLES as readonly string[]).includes(t));
    if (log.length > 0) return tablesMissingReport(log, 'the transparency log');
  }
  if (missing.length > 0) return tablesMissingReport(missing, 'complete registry state');
  const store = SqliteStore.open({ path, readonly: true });
  try {
    return await fsckRegistry(store, options);
  } finally {
    await store.close();
  }
}
