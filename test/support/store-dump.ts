// Everything a store holds, read through the Store interface only (so it works for every store):
// the contract tests compare dumps to prove that a rolled-back transaction left nothing behind.
import type { Store, StoreReader } from '../../registry/store/types.js';

/** No store in a test comes near this: "all rows". */
const ALL = 1_000_000;

/**
 * A plain-data snapshot of `store`. The interface has no list of namespaces or used statements,
 * so the namespaces to read are given (their rows and keys), and counts() covers every table's
 * row count (an insert or a purge anywhere shows). Tools, versions, audit rows, registry keys and
 * the whole log (leaves, every perfect-subtree node the size implies, checkpoints, origin) are
 * read in full.
 */
export async function dumpStore(store: Store | StoreReader, namespaces: readonly string[] = []): Promise<unknown> {
  const size = await store.tree.size();
  const coordinates: [number, number][] = [];
  for (let level = 0; 2 ** level <= size; level++)
    for (let idx = 0; idx < Math.floor(size / 2 ** level); idx++) coordinates.push([level, idx]);
  const tools = await store.listTools('', ALL);
  return {
    counts: await store.counts(),
    namespaces: await Promise.all(
      namespaces.map(async (ns) => ({
        row: await store.getNamespace(ns),
        keys: await store.listKeys(ns),
        tools: await store.toolsOf(ns, ALL),
      })),
    ),
    tools,
    versions: await Promise.all(tools.map((t) => store.listVersions(t.tool_id))),
    audit: await store.auditRange(0, Number.MAX_SAFE_INTEGER),
    registryKeys: [await store.registryKeys('jwt'), await store.registryKeys('log')],
    tree: {
      size,
      origin: await store.tree.origin(),
      leaves: await store.tree.entries(0, size),
      nodes: await store.tree.nodes(coordinates),
      checkpoints: await store.tree.allCheckpoints(),
    },
  };
}
