import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointStore,
  LogVerificationError,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusionEvidence,
} from '../../client-verifier/log/index.js';
import { EMPTY_ROOT, leafHash, merkleRoot, toBase64, utf8 } from '../../protocol/index.js';
import { LogError, TransparencyLog, fsckLog } from '../../registry/log/index.js';
import type { SqliteStore } from '../../registry/store/sqlite/sqlite-store.js';
import type { LogEvidence } from '../../schemas/index.js';
import { ORIGIN, appendAll, eventLeaf, openFork, openLog, tamper, tempDir } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<LogVerificationError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LogVerificationError);
    return e as LogVerificationError;
  }
  throw new Error('expected a LogVerificationError');
}

/** The LogError `fn` throws or rejects with. */
async function logErrorOf(fn: () => unknown): Promise<LogError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LogError);
    return e as LogError;
  }
  throw new Error('expected a LogError');
}

const fetcherFor = (log: TransparencyLog) => (from: number, to: number) => log.consistencyProof(from, to);

/** A write transaction that only signs (the registry signs last thing in every write transaction). */
const sign = (store: SqliteStore, log: TransparencyLog) => store.transaction((tx) => log.signCheckpoint(tx));

let tmp: ReturnType<typeof tempDir>;
let file: string;
beforeEach(() => {
  tmp = tempDir();
  file = join(tmp.dir, 'log.db');
});
afterEach(() => tmp.cleanup());

describe('TransparencyLog', () => {
  describe('when the tree grows from 1 to 70 leaves', () => {
    it('serves proofs that the client functions accept for every index, size and pair of sizes', async () => {
      const { store, log } = await openLog(file);
      const vkey = log.verifierKey();
      const leaves: Uint8Array[] = [];
      const roots: Uint8Array[] = [EMPTY_ROOT];
      for (let n = 1; n <= 70; n++) {
        const data = utf8(`leaf ${n - 1}`);
        leaves.push(data);
        expect(await appendAll(store, log, [data])).toEqual([n - 1]);
        const note = await log.checkpoint();
        const cp = await verifyCheckpoint(note, vkey, { origin: ORIGIN });
        expect(cp.size).toBe(n);
        // Independent reference: the root rebuilt from all leaf hashes in memory.
        expect(cp.rootHash).toEqual(merkleRoot(leaves.map(leafHash)));
        roots.push(cp.rootHash);
        for (let i = 0; i < n; i++) {
          const hashes = (await log.inclusionProof(i, n)).map(toBase64);
          const evidence = { leafIndex: i, inclusionProof: { leafIndex: i, treeSize: n, hashes }, checkpoint: note };
          await expect(verifyInclusionEvidence(leaves[i]!, evidence, vkey)).resolves.toMatchObject({ size: n });
        }
      }
      for (let m = 1; m <= 70; m++)
        for (let n = m; n <= 70; n++) {
          expect(await log.rootHash(n)).toEqual(roots[n]);
          verifyConsistency(m, n, await log.consistencyProof(m, n), roots[m]!, roots[n]!);
        }
      await store.close();
    });
  });

  describe('when serving evidence for a record', () => {
    it('binds the leaf to the newest checkpoint', async () => {
      const { store, log } = await openLog(file);
      const leaves = Array.from({ length: 13 }, (_, i) => eventLeaf(i));
      await appendAll(store, log, leaves);
      const evidence = await log.evidence(5);
      expect(evidence.inclusionProof.treeSize).toBe(13);
      await expect(verifyInclusionEvidence(leaves[5]!, evidence, log.verifierKey())).resolves.toMatchObject({ size: 13 });
      expect(await log.leafIndexOf(leafHash(leaves[7]!))).toBe(7);
      expect(await log.leafIndexOf(new Uint8Array(32))).toBeUndefined();
      await store.close();
    });

    const attacks: [string, (e: LogEvidence) => unknown, string][] = [
      ['another leaf index', (e) => ({ ...e, leafIndex: 6, inclusionProof: { ...e.inclusionProof, leafIndex: 6 } }), 'NOT_LOGGED'],
      ['a proof for another tree size', (e) => ({ ...e, inclusionProof: { ...e.inclusionProof, treeSize: 12 } }), 'NOT_LOGGED'],
      ['a truncated proof', (e) => ({ ...e, inclusionProof: { ...e.inclusionProof, hashes: e.inclusionProof.hashes.slice(1) } }), 'NOT_LOGGED'],
      ['a mismatched leaf index', (e) => ({ ...e, leafIndex: 4 }), 'NOT_LOGGED'],
      ['a malformed evidence', (e) => ({ ...e, extra: 1 }), 'NOT_LOGGED'],
      ['a checkpoint with a changed size', (e) => ({ ...e, checkpoint: e.checkpoint.replace('\n13\n', '\n14\n') }), 'BAD_CHECKPOINT'],
    ];
    it.each(attacks)('refuses %s', async (_attack, mutate, code) => {
      const { store, log } = await openLog(file);
      const leaves = Array.from({ length: 13 }, (_, i) => eventLeaf(i));
      await appendAll(store, log, leaves);
      const evidence = mutate(await log.evidence(5)) as LogEvidence;
      expect((await rejection(verifyInclusionEvidence(leaves[5]!, evidence, log.verifierKey()))).code).toBe(code);
      await store.close();
    });

    it('refuses a checkpoint signed by another log key', async () => {
      const { store, log } = await openLog(file);
      await appendAll(store, log, [utf8('x')]);
      // another database, the same origin: TransparencyLog.open makes that log its own key
      const other = await openLog(join(tmp.dir, 'other.db'));
      expect(other.log.verifierKey()).not.toBe(log.verifierKey());
      expect((await rejection(verifyCheckpoint(await log.checkpoint(), other.log.verifierKey()))).code).toBe('BAD_CHECKPOINT');
      await other.store.close();
      await store.close();
    });
  });

  describe('when reopened', () => {
    it('restores size, root, checkpoint and key from O(log n) rows, without replaying the leaves', async () => {
      let { store, log } = await openLog(file);
      await appendAll(store, log, Array.from({ length: 1000 }, (_, i) => utf8(`e${i}`)));
      const note = await log.checkpoint();
      const root = await log.rootHash();
      const vkey = log.verifierKey();
      await store.close();

      // Remove every leaf's data except the last: a log that replayed leaves could not reopen.
      tamper(file, 'DELETE FROM log_leaves WHERE idx < 999');
      ({ store, log } = await openLog(file));
      expect(log.verifierKey()).toBe(vkey); // the signing key is the store's, made on the first open only
      expect(await log.size()).toBe(1000);
      expect(await log.rootHash()).toEqual(root);
      expect(await log.checkpoint()).toBe(note);
      // no new signature: the tree did not grow
      expect((await sign(store, log)).note).toBe(note);
      expect(await store.tree.allCheckpoints()).toHaveLength(2); // the empty one (first open) and 1000
      expect(await appendAll(store, log, [utf8('next')])).toEqual([1000]);
      await store.close();
    });

    it('refuses a database that holds another log', async () => {
      const { store } = await openLog(file);
      expect((await logErrorOf(() => TransparencyLog.open(store, { origin: 'other.test/log' }))).code).toBe('LOG_CONFIG');
      await store.close();
    });
  });

  describe('when the caller rolls back its transaction', () => {
    it('leaves size, root and checkpoint unchanged, and the next append reuses the index', async () => {
      const { store, log } = await openLog(file);
      await appendAll(store, log, [utf8('a'), utf8('b'), utf8('c')]);
      const before = await log.rootHash();
      const note = await log.checkpoint();
      const refusedPublish = store.transaction(async (tx) => {
        await log.append(tx, utf8('d'));
        await log.append(tx, utf8('e'));
        await log.signCheckpoint(tx);
        throw new Error('version already exists'); // the registry refuses the publish
      });
      await expect(refusedPublish).rejects.toThrow('version already exists');
      expect(await log.size()).toBe(3);
      expect(await log.rootHash()).toEqual(before);
      expect(await log.checkpoint()).toBe(note); // the signature of size 5 rolled back with its leaves
      expect(await appendAll(store, log, [utf8('f')])).toEqual([3]);
      await store.close();
    });

    // Replaces "refuses an append outside a transaction" (a runtime TypeError of the old
    // synchronous API): append now takes the transaction, so a call without one does not compile,
    // and what the old check protected, no leaf or checkpoint seen before its COMMIT, is tested.
    it('appends only inside a transaction, whose leaves and checkpoint no read sees before COMMIT', async () => {
      const { store, log } = await openLog(file);
      await appendAll(store, log, [utf8('a')]);
      const note = await log.checkpoint();
      // @ts-expect-error a Store is not a StoreTx: an append needs the caller's transaction
      const outside = (): Promise<number> => log.append(store, utf8('x'));
      void outside;
      let seenInside: { size: number; note: string } | undefined;
      await store.transaction(async (tx) => {
        await log.append(tx, utf8('b'));
        await log.signCheckpoint(tx);
        expect(await log.size(tx)).toBe(2); // the transaction sees its own leaf
        seenInside = { size: await log.size(), note: await log.checkpoint() };
      });
      expect(seenInside).toEqual({ size: 1, note });
      expect(await log.size()).toBe(2);
      expect(await log.checkpoint()).not.toBe(note);
      await store.close();
    });
  });

  describe('when the parameters are out of range', () => {
    it.each([
      ['a leaf index beyond the tree', (l: TransparencyLog) => l.inclusionProof(5, 5)],
      ['a tree size beyond the log', (l: TransparencyLog) => l.inclusionProof(0, 6)],
      ['a negative index', (l: TransparencyLog) => l.inclusionProof(-1, 5)],
      ['a negative index among many', (l: TransparencyLog) => l.inclusionProofs([0, 1, -1], 5)],
      ['a fractional size', (l: TransparencyLog) => l.rootHash(2.5)],
      ['a consistency proof from 0', (l: TransparencyLog) => l.consistencyProof(0, 5)],
      ['a consistency proof backwards', (l: TransparencyLog) => l.consistencyProof(4, 3)],
      ['entries with start after end', (l: TransparencyLog) => l.entries(3, 2)],
    ])('refuses %s with LOG_BAD_REQUEST', async (_case, call) => {
      const { store, log } = await openLog(file);
      await appendAll(store, log, Array.from({ length: 5 }, (_, i) => utf8(`${i}`)));
      const error = await logErrorOf(() => call(log));
      expect(error.code).toBe('LOG_BAD_REQUEST');
      expect(error.status).toBe(400);
      await store.close();
    });
  });
});

describe('CheckpointStore', () => {
  /** Two registries that share a prefix of 5 events and then diverge: a forked log. */
  async function forkedLogs() {
    const { store: dbA, log: a } = await openLog(join(tmp.dir, 'a.db'));
    const { store: dbB, log: b } = await openFork(join(tmp.dir, 'b.db'), dbA); // the same log identity and key: a fork, not another log
    expect(b.verifierKey()).toBe(a.verifierKey());
    const prefix = Array.from({ length: 5 }, (_, i) => eventLeaf(i));
    await appendAll(dbA, a, prefix);
    await appendAll(dbB, b, prefix);
    const prefixNote = await a.checkpoint();
    expect((await b.checkpoint()).split('\n').slice(0, 3)).toEqual(prefixNote.split('\n').slice(0, 3));
    await appendAll(dbA, a, [eventLeaf(5, 'a')]);
    await appendAll(dbB, b, [eventLeaf(5, 'b')]);
    const a6 = await a.checkpoint();
    const b6 = await b.checkpoint();
    await appendAll(dbA, a, [eventLeaf(6, 'a'), eventLeaf(7, 'a')]);
    await appendAll(dbB, b, [eventLeaf(6, 'b'), eventLeaf(7, 'b'), eventLeaf(8, 'b'), eventLeaf(9, 'b')]);
    return {
      a,
      b,
      prefixNote,
      a6,
      b6,
      a8: await a.checkpoint(),
      b10: await b.checkpoint(),
      close: async () => {
        await dbA.close();
        await dbB.close();
      },
    };
  }

  it('advances along one history', async () => {
    const f = await forkedLogs();
    const store = new CheckpointStore(f.a.verifierKey(), { origin: ORIGIN });
    await store.advance(f.prefixNote, fetcherFor(f.a));
    await store.advance(f.a6, fetcherFor(f.a));
    await store.advance(f.a8, fetcherFor(f.a));
    expect(store.current?.size).toBe(8);
    await f.close();
  });

  it.each([
    ['a same-size checkpoint of the other branch', 'b6', 6],
    ['a later checkpoint of the other branch', 'b10', 8],
    ['an older checkpoint of the other branch (split view)', 'b6', 8],
  ] as const)('detects a fork: %s', async (_case, which, seen) => {
    const f = await forkedLogs();
    const store = new CheckpointStore(f.a.verifierKey());
    await store.advance(seen === 6 ? f.a6 : f.a8, fetcherFor(f.a));
    // The forked registry answers consistency requests from its own tree.
    const error = await rejection(store.advance(f[which], fetcherFor(f.b)));
    expect(error.code).toBe('LOG_INCONSISTENT');
    expect(store.current?.size).toBe(seen); // the stored checkpoint is kept
    await f.close();
  });

  it('accepts an older checkpoint of the same history but never moves back to it (rollback)', async () => {
    const f = await forkedLogs();
    const store = new CheckpointStore(f.a.verifierKey());
    await store.advance(f.a8, fetcherFor(f.a));
    await expect(store.advance(f.prefixNote, fetcherFor(f.a))).resolves.toMatchObject({ size: 5 });
    expect(store.current?.size).toBe(8);
    // The forked registry cannot prove that its history contains the stored one.
    expect((await rejection(store.advance(f.prefixNote, fetcherFor(f.b)))).code).toBe('LOG_INCONSISTENT');
    await f.close();
  });

  it('restores from a stored note and refuses a bad one', async () => {
    const f = await forkedLogs();
    const store = await CheckpointStore.fromNote(f.a.verifierKey(), f.a8);
    expect(store.current?.size).toBe(8);
    expect((await rejection(CheckpointStore.fromNote(f.a.verifierKey(), f.a8.replace('\n8\n', '\n9\n')))).code).toBe('BAD_CHECKPOINT');
    await f.close();
  });
});

describe('log rollback and corruption', () => {
  it('a registry restored from an old backup cannot sign, and a client refuses its new history', async () => {
    const { store, log } = await openLog(file);
    await appendAll(store, log, Array.from({ length: 5 }, (_, i) => eventLeaf(i)));
    const five = await log.checkpoint();
    const backup = join(tmp.dir, 'backup.db');
    await store.writeConnection.backup(backup);
    await appendAll(store, log, Array.from({ length: 3 }, (_, i) => eventLeaf(5 + i)));
    const eight = await log.checkpoint();
    const client = new CheckpointStore(log.verifierKey());
    await client.advance(five, fetcherFor(log));
    await client.advance(eight, fetcherFor(log));

    // The leaves after 5 vanish but the signed checkpoints remain: the log refuses to sign, so
    // the next write transaction aborts (nothing of it commits).
    tamper(file, 'DELETE FROM log_leaves WHERE idx >= 5');
    tamper(file, 'DELETE FROM log_nodes WHERE (idx + 1) * (1 << level) > 5');
    expect((await logErrorOf(() => sign(store, log))).code).toBe('LOG_CORRUPT');
    expect((await logErrorOf(() => appendAll(store, log, [eventLeaf(5, 'y')]))).code).toBe('LOG_CORRUPT');
    expect(await log.size()).toBe(5);
    expect(await log.checkpoint()).toBe(eight);
    expect((await fsckLog(store.tree)).problems.map((p) => p.code)).toContain('CHECKPOINT_BEYOND_TREE');
    await store.close();

    // A whole-database restore forgets the checkpoint of size 8 and grows another history.
    const restored = await openLog(backup);
    expect(await restored.log.checkpoint()).toBe(five);
    expect(restored.log.verifierKey()).toBe(log.verifierKey());
    await appendAll(restored.store, restored.log, Array.from({ length: 4 }, (_, i) => eventLeaf(5 + i, 'x')));
    const error = await rejection(client.advance(await restored.log.checkpoint(), fetcherFor(restored.log)));
    expect(error.code).toBe('LOG_INCONSISTENT');
    await restored.store.close();
  });

  it('refuses to sign when a stored subtree hash was altered', async () => {
    const { store, log } = await openLog(file);
    await appendAll(store, log, Array.from({ length: 8 }, (_, i) => eventLeaf(i)));
    const note = await log.checkpoint();
    tamper(file, 'UPDATE log_nodes SET hash = ? WHERE level = 3 AND idx = 0', new Uint8Array(32));
    // the same size: the stored tree no longer folds to the signed root
    expect((await logErrorOf(() => sign(store, log))).code).toBe('LOG_CORRUPT');
    // grown: the consistency proof from the stored nodes fails, and the batch rolls back
    expect((await logErrorOf(() => appendAll(store, log, [eventLeaf(8)]))).code).toBe('LOG_CORRUPT');
    expect(await log.size()).toBe(8);
    expect(await log.checkpoint()).toBe(note);
    await store.close();
  });

  // The old log checked consecutive checkpoints of one object against the border it signed last
  // (extendsHead), without a proof; that mechanism is gone: every signature is checked with a
  // consistency proof read from the stored nodes, in the signing transaction. These cases tamper
  // a node between the batch's appends and its signature (on the transaction's own connection)
  // or between two batches (another connection): the signature must be refused either way.
  it.each([
    ['the new border (the subtree the new root folds from), after the appends', 'level = 4 AND idx = 0', 'in'],
    ['a subtree of the signed border, after the appends', 'level = 3 AND idx = 0', 'in'],
    ['a subtree of the signed border, before the next batch', 'level = 3 AND idx = 0', 'before'],
    ['the smaller subtree of the signed border, before the next batch', 'level = 1 AND idx = 4', 'before'],
  ] as const)('refuses to sign after %s changed between two checkpoints', async (_name, where, when) => {
    const { store, log } = await openLog(file);
    await appendAll(store, log, Array.from({ length: 10 }, (_, i) => eventLeaf(i)));
    const note = await log.checkpoint(); // size 10: border (3, 0), (1, 4)
    const evil = new Uint8Array(32).fill(7);
    if (when === 'before') tamper(file, `UPDATE log_nodes SET hash = ? WHERE ${where}`, evil);
    const batch = store.transaction(async (tx) => {
      for (let i = 10; i < 16; i++) await log.append(tx, eventLeaf(i));
      if (when === 'in') store.writeConnection.prepare(`UPDATE log_nodes SET hash = ? WHERE ${where}`).run(evil);
      return log.signCheckpoint(tx);
    });
    expect((await logErrorOf(() => batch)).code).toBe('LOG_CORRUPT');
    expect(await log.size()).toBe(10);
    expect(await log.checkpoint()).toBe(note);
    await store.close();
  });

  // Changed meaning (was a third case of the extendsHead test, which rebuilt the frontier from the
  // new leaf hashes): the signature now folds the subtree hashes written at append time, which a
  // later change of a leaf-hash row does not reach, so the signed root stays the leaves' root; the
  // changed row (which only inclusion proofs read) is fsck's to find.
  it('signs the leaves\' root when a new leaf hash row changed after its append, and fsck finds the row', async () => {
    const { store, log } = await openLog(file);
    const leaves = Array.from({ length: 16 }, (_, i) => eventLeaf(i));
    await appendAll(store, log, leaves.slice(0, 10));
    const signed = await store.transaction(async (tx) => {
      for (const leaf of leaves.slice(10)) await log.append(tx, leaf);
      store.writeConnection.prepare('UPDATE log_nodes SET hash = ? WHERE level = 0 AND idx = 13').run(new Uint8Array(32).fill(7));
      return log.signCheckpoint(tx);
    });
    expect(signed.rootHash).toEqual(merkleRoot(leaves.map((l) => leafHash(l))));
    const report = await fsckLog(store.tree);
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'NODE_MISMATCH', level: 0, index: 13 }));
    await store.close();
  });

  it('signs, checkpoint after checkpoint, the root a fresh computation gives', async () => {
    const { store, log } = await openLog(file);
    const all: Uint8Array[] = [];
    for (const n of [1, 2, 5, 8, 9, 16, 31, 33]) {
      const more = Array.from({ length: n }, (_, i) => eventLeaf(all.length + i));
      await appendAll(store, log, more);
      all.push(...more);
      const note = await log.checkpoint();
      expect(note).toContain(`\n${all.length}\n${toBase64(merkleRoot(all.map((l) => leafHash(l))))}\n`);
    }
    await store.close();
  });
});

describe('fsckLog', () => {
  /** n leaves in batches of 7, each batch signing its checkpoint (the empty one was signed at open). */
  async function build(n: number) {
    const { store, log } = await openLog(file);
    for (let i = 0; i < n; i += 7) await appendAll(store, log, Array.from({ length: Math.min(7, n - i) }, (_, j) => eventLeaf(i + j)));
    return { store, log };
  }

  it('passes a healthy log and feeds every decoded entry to the cross-check hook', async () => {
    const { store, log } = await build(40);
    const seen: string[] = [];
    const report = await fsckLog(store.tree, {
      origin: ORIGIN,
      verifierKey: log.verifierKey(),
      onEntry: (e) => void seen.push(e.event?.kind ?? 'none'),
      pageSize: 16,
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.size).toBe(40);
    expect(report.rootHash).toBe(toBase64(await log.rootHash()));
    expect(report.checkpoints).toBe(7); // sizes 0 (signed at open), 7, 14, 21, 28, 35, 40
    expect(report.newestCheckpointSize).toBe(40);
    expect(seen).toHaveLength(40);
    expect(new Set(seen)).toEqual(new Set(['version.published']));
    await store.close();
  });

  it.each([
    ['a tampered entry row', 'UPDATE log_leaves SET data = ? WHERE idx = 17', [eventLeaf(99)], ['NODE_MISMATCH', 'CHECKPOINT_ROOT_MISMATCH']],
    ['an entry that is not JCS', 'UPDATE log_leaves SET data = ? WHERE idx = 3', [utf8('{"b":1, "a":2}')], ['ENTRY_INVALID', 'NODE_MISMATCH']],
    ['a tampered subtree hash', 'UPDATE log_nodes SET hash = ? WHERE level = 2 AND idx = 1', [new Uint8Array(32)], ['NODE_MISMATCH']],
    ['a tampered checkpoint root', 'UPDATE log_checkpoints SET root = ? WHERE size = 21', [new Uint8Array(32)], ['CHECKPOINT_ROOT_MISMATCH', 'CHECKPOINT_NOTE_INVALID', 'CHECKPOINT_INCONSISTENT']],
    ['a missing leaf', 'DELETE FROM log_leaves WHERE idx = ?', [10], ['LEAF_GAP']],
    ['a missing subtree hash', 'DELETE FROM log_nodes WHERE level = 1 AND idx = ?', [5], ['NODE_MISSING']],
    ['an extra subtree hash', 'INSERT INTO log_nodes (level, idx, hash) VALUES (5, 7, ?)', [new Uint8Array(32)], ['EXTRA_NODES']],
  ] as const)('detects %s', async (_attack, sql, params, codes) => {
    const { store, log } = await build(40);
    tamper(file, sql, ...params);
    const report = await fsckLog(store.tree, { origin: ORIGIN, verifierKey: log.verifierKey() });
    expect(report.ok).toBe(false);
    for (const code of codes) expect(report.problems.map((p) => p.code)).toContain(code);
    await store.close();
  });

  it('reports the entries the registry cross-check rejects', async () => {
    const { store } = await build(10);
    const report = await fsckLog(store.tree, {
      onEntry: (e) => {
        if (e.index === 4) throw new Error('no registry row for com.acme/tool-a 1.0.4');
      },
    });
    expect(report.problems).toEqual([{ code: 'ENTRY_REJECTED', index: 4, message: 'no registry row for com.acme/tool-a 1.0.4' }]);
    await store.close();
  });
});
