import type Database from 'better-sqlite3';
import { canonicalManifest, canonicalize, parseStrictJson, sha256Digest } from '@etdi/protocol';
import type { SignedManifest } from '@etdi/schemas';
import { fsckLog, type FsckEntry, type FsckOptions, type FsckReport } from '../log/fsck.js';
import type { KeyRow, NamespaceRow, RegistryStore, VersionRow } from './store.js';

/**
 * The registry's half of fsck: every log leaf must be exactly the audit row at its index and
 * must point at the state row it created (namespace, key, version with that leaf index); a
 * published version's stored manifest must still hash to the digests its leaf and row name, so a
 * manifest rewritten in the database is found even where the digest columns were left alone.
 * Plain SELECTs on the connection given: a read-only one is enough (`etdi log verify`).
 */
export function registryEntryCheck(db: Database.Database): (entry: FsckEntry) => void {
  const audit = db.prepare<[number], { event: string }>('SELECT event FROM audit WHERE leaf_index = ?');
  const namespace = db.prepare<[string], NamespaceRow>('SELECT * FROM namespaces WHERE namespace = ?');
  const key = db.prepare<[string, string], KeyRow>('SELECT * FROM keys WHERE namespace = ? AND key_id = ?');
  const version = db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE tool_id = ? AND version = ?');
  return (entry) => {
    const row = audit.get(entry.index);
    if (row === undefined) throw new Error(`leaf ${entry.index} has no audit row`);
    if (entry.event === undefined) throw new Error(`leaf ${entry.index} is not a log event`);
    if (row.event !== canonicalize(entry.event)) throw new Error(`leaf ${entry.index} differs from its audit row`);
    const e = entry.event;
    switch (e.kind) {
      case 'namespace.registered':
        if (namespace.get(e.namespace)?.leaf_index !== entry.index) throw new Error(`namespace ${e.namespace} does not point at leaf ${entry.index}`);
        break;
      case 'key.added':
        if (key.get(e.namespace, e.keyId)?.leaf_index !== entry.index) throw new Error(`key ${e.keyId} does not point at leaf ${entry.index}`);
        break;
      case 'key.revoked':
        if (key.get(e.namespace, e.keyId)?.revoked_from !== e.revokedFrom) throw new Error(`key ${e.keyId} is not revoked as leaf ${entry.index} says`);
        break;
      case 'version.published': {
        const v = version.get(e.toolId, e.version);
        if (v?.leaf_index !== entry.index || v.manifest_digest !== e.manifestDigest || v.definition_digest !== e.definitionDigest || v.signer_key_id !== e.signerKeyId)
          throw new Error(`${e.toolId}@${e.version} does not match leaf ${entry.index}`);
        const stored = storedManifestDigests(v.signed_manifest);
        if (stored?.manifest !== e.manifestDigest || stored.definition !== e.definitionDigest)
          throw new Error(`the stored manifest of ${e.toolId}@${e.version} is not the one leaf ${entry.index} logged`);
        break;
      }
      case 'version.revoked':
        if (version.get(e.toolId, e.version)?.revoked_reason !== e.reason) throw new Error(`${e.toolId}@${e.version} is not revoked as leaf ${entry.index} says`);
        break;
    }
  };
}

/** The digests of a stored signed manifest, or undefined when it is no longer one. */
function storedManifestDigests(text: string): { manifest: string; definition: string } | undefined {
  try {
    // the bytes the publish path digests: one canonicalisation gives both
    const { manifestBytes, definitionBytes } = canonicalManifest((parseStrictJson(text) as unknown as SignedManifest).manifest);
    return { manifest: sha256Digest(manifestBytes), definition: sha256Digest(definitionBytes) };
  } catch {
    return undefined;
  }
}

/**
 * fsckLog plus, where the database holds the registry's tables, the cross-check against them and
 * audit rows without leaves. Read-only SQL: `etdi log verify` runs it on a read-only connection.
 */
export async function fsckRegistryDatabase(db: Database.Database, options: Omit<FsckOptions, 'onEntry'> = {}): Promise<FsckReport> {
  const hasAudit = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'").get() !== undefined;
  if (!hasAudit) return fsckLog(db, options);
  const report = await fsckLog(db, { ...options, onEntry: registryEntryCheck(db) });
  const orphans = db.prepare<[number], { leaf_index: number }>('SELECT leaf_index FROM audit WHERE leaf_index >= ? LIMIT 10').all(report.size);
  for (const o of orphans) report.problems.push({ code: 'ENTRY_REJECTED', message: `audit row ${o.leaf_index} has no log leaf`, index: o.leaf_index });
  report.ok = report.ok && orphans.length === 0;
  return report;
}

/** fsckRegistryDatabase on a running registry's store, with its log origin. */
export function fsckRegistry(store: RegistryStore): Promise<FsckReport> {
  return fsckRegistryDatabase(store.db, { origin: store.logOrigin });
}
