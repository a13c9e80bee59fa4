import { canonicalize } from '../../protocol/index.js';
import { fsckLog, type FsckEntry, type FsckReport } from '../log/fsck.js';
import type { RegistryStore } from './store.js';

/**
 * The registry's half of fsck: every log leaf must be exactly the audit row at its index and
 * must point at the state row it created (namespace, key, version with that leaf index), and
 * every audit row must have its leaf. "No event without its leaf, no leaf without its event."
 */
export function registryEntryCheck(store: RegistryStore): (entry: FsckEntry) => void {
  const audit = store.db.prepare<[number], { event: string }>('SELECT event FROM audit WHERE leaf_index = ?');
  return (entry) => {
    const row = audit.get(entry.index);
    if (row === undefined) throw new Error(`leaf ${entry.index} has no audit row`);
    if (entry.event === undefined) throw new Error(`leaf ${entry.index} is not a log event`);
    if (row.event !== canonicalize(entry.event)) throw new Error(`leaf ${entry.index} differs from its audit row`);
    const e = entry.event;
    switch (e.kind) {
      case 'namespace.registered':
        if (store.getNamespace(e.namespace)?.leaf_index !== entry.index) throw new Error(`namespace ${e.namespace} does not point at leaf ${entry.index}`);
        break;
      case 'key.added':
        if (store.getKey(e.namespace, e.keyId)?.leaf_index !== entry.index) throw new Error(`key ${e.keyId} does not point at leaf ${entry.index}`);
        break;
      case 'key.revoked':
        if (store.getKey(e.namespace, e.keyId)?.revoked_from !== e.revokedFrom) throw new Error(`key ${e.keyId} is not revoked as leaf ${entry.index} says`);
        break;
      case 'version.published': {
        const v = store.getVersion(e.toolId, e.version);
        if (v?.leaf_index !== entry.index || v.manifest_digest !== e.manifestDigest)
          throw new Error(`${e.toolId}@${e.version} does not match leaf ${entry.index}`);
        break;
      }
      case 'version.revoked':
        if (store.getVersion(e.toolId, e.version)?.revoked_reason !== e.reason) throw new Error(`${e.toolId}@${e.version} is not revoked as leaf ${entry.index} says`);
        break;
    }
  };
}

/** fsckLog plus the cross-check against the registry's tables, and audit rows without leaves. */
export async function fsckRegistry(store: RegistryStore): Promise<FsckReport> {
  const report = await fsckLog(store.db, { origin: store.logOrigin, onEntry: registryEntryCheck(store) });
  const orphans = store.db.prepare<[number], { leaf_index: number }>('SELECT leaf_index FROM audit WHERE leaf_index >= ? LIMIT 10').all(report.size);
  for (const o of orphans) report.problems.push({ code: 'ENTRY_REJECTED', message: `audit row ${o.leaf_index} has no log leaf`, index: o.leaf_index });
  report.ok = report.ok && orphans.length === 0;
  return report;
}
