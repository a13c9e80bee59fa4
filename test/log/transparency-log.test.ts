import { copyFileSync } from 'node:fs';
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
import type { Ed25519PrivateJwk } from '../../schemas/index.js';
import { ORIGIN, appendAll, eventLeaf, logKey, openDb, openLog, tempDir } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<LogVerificationError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LogVerificationError);
    return e as LogVerificationError;
  }
  throw new Error('expected a LogVerificationError');
}

function logErrorOf(fn: () => unknown): LogError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LogError);
    return e as LogError;
  }
  throw new Error('expected a LogError');
}

const fetcherFor = (log: TransparencyLog) => (from: number, to: number) => Promise.resolve(log.consistencyProof(from, to));

let tmp: ReturnType<typeof tempDir>;
let key: Ed25519PrivateJwk;
beforeEach(() => {
  tmp = tempDir();
  key = logKey();
});
afterEach(() => tmp.cleanup());

describe('TransparencyLog', () => {
  describe('when the tree grows from 1 to 70 leaves', () => {
    it('serves proofs that the client functions accept for every index, size and pair of sizes', async () => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      const vkey = log.verifierKey();
      const leaves: Uint8Array[] = [];
      const roots: Uint8Array[] = [EMPTY_ROOT];
      for (let n = 1; n <= 70; n++) {
        const data = utf8(`leaf ${n - 1}`);
        leaves.push(data);
        expect(appendAll(db, log, [data])).toEqual([n - 1]);
        const note = log.checkpoint();
        const cp = await verifyCheckpoint(note, vkey, { origin: ORIGIN });
        expect(cp.size).toBe(n);
        // Independent reference: the root rebuilt from all leaf hashes in memory.
        expect(cp.rootHash).toEqual(merkleRoot(leaves.map(leafHash)));
        roots.push(cp.rootHash);
        for (let i = 0; i < n; i++) {
          const hashes = log.inclusionProof(i, n).map(toBase64);
          const evidence = { leafIndex: i, inclusionProof: { leafIndex: i, treeSize: n, hashes }, checkpoint: note };
          await expect(verifyInclusionEvidence(leaves[i]!, evidence, vkey)).resolves.toMatchObject({ size: n });
        }
      }
      for (let m = 1; m <= 70; m++)
        for (let n = m; n <= 70; n++) {
          expect(log.rootHash(n)).toEqual(roots[n]);
          verifyConsistency(m, n, log.consistencyProof(m, n), roots[m]!, roots[n]!);
        }
      db.close();
    });
  });

  describe('when serving evidence for a record', () => {
    it('binds the leaf to the newest checkpoint', async () => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      const leaves = Array.from({ length: 13 }, (_, i) => eventLeaf(i));
      appendAll(db, log, leaves);
      const evidence = log.evidence(5);
      expect(evidence.inclusionProof.treeSize).toBe(13);
      await expect(verifyInclusionEvidence(leaves[5]!, evidence, log.verifierKey())).resolves.toMatchObject({ size: 13 });
      expect(log.leafIndexOf(leafHash(leaves[7]!))).toBe(7);
      expect(log.leafIndexOf(new Uint8Array(32))).toBeUndefined();
      db.close();
    });

    const attacks: [string, (e: ReturnType<TransparencyLog['evidence']>) => unknown, string][] = [
      ['another leaf index', (e) => ({ ...e, leafIndex: 6, inclusionProof: { ...e.inclusionProof, leafIndex: 6 } }), 'NOT_LOGGED'],
      ['a proof for another tree size', (e) => ({ ...e, inclusionProof: { ...e.inclusionProof, treeSize: 12 } }), 'NOT_LOGGED'],
      ['a truncated proof', (e) => ({ ...e, inclusionProof: { ...e.inclusionProof, hashes: e.inclusionProof.hashes.slice(1) } }), 'NOT_LOGGED'],
      ['a mismatched leaf index', (e) => ({ ...e, leafIndex: 4 }), 'NOT_LOGGED'],
      ['a malformed evidence', (e) => ({ ...e, extra: 1 }), 'NOT_LOGGED'],
      ['a checkpoint with a changed size', (e) => ({ ...e, checkpoint: e.checkpoint.replace('\n13\n', '\n14\n') }), 'BAD_CHECKPOINT'],
    ];
    it.each(attacks)('refuses %s', async (_attack, mutate, code) => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      const leaves = Array.from({ length: 13 }, (_, i) => eventLeaf(i));
      appendAll(db, log, leaves);
      const evidence = mutate(log.evidence(5)) as ReturnType<TransparencyLog['evidence']>;
      expect((await rejection(verifyInclusionEvidence(leaves[5]!, evidence, log.verifierKey()))).code).toBe(code);
      db.close();
    });

    it('refuses a checkpoint signed by another log key', async () => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      appendAll(db, log, [utf8('x')]);
      const other = TransparencyLog.open(openDb(join(tmp.dir, 'other.db')), { origin: ORIGIN, signingKey: logKey(), keyName: ORIGIN });
      expect((await rejection(verifyCheckpoint(log.checkpoint(), other.verifierKey()))).code).toBe('BAD_CHECKPOINT');
      db.close();
    });
  });

  describe('when reopened', () => {
    it('restores size, root and checkpoint from O(log n) rows, without replaying the leaves', () => {
      const file = join(tmp.dir, 'log.db');
      let db = openDb(file);
      let log = openLog(db, key);
      appendAll(db, log, Array.from({ length: 1000 }, (_, i) => utf8(`e${i}`)));
      const note = log.checkpoint();
      const root = log.rootHash();
      db.close();

      db = openDb(file);
      // Remove every leaf's data except the last: a log that replayed leaves could not reopen.
      db.prepare('DELETE FROM log_leaves WHERE idx < 999').run();
      log = openLog(db, key);
      expect(log.size).toBe(1000);
      expect(log.rootHash()).toEqual(root);
      expect(log.checkpoint()).toBe(note); // no new signature: the tree did not grow
      expect(appendAll(db, log, [utf8('next')])).toEqual([1000]);
      db.close();
    });

    it('refuses a database that holds another log', () => {
      const db = openDb(join(tmp.dir, 'log.db'));
      openLog(db, key);
      expect(logErrorOf(() => openLog(db, key, 'other.test/log')).code).toBe('LOG_CONFIG');
      db.close();
    });
  });

  describe('when the caller rolls back its transaction', () => {
    it('leaves size and root unchanged, and the next append reuses the index', () => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      appendAll(db, log, [utf8('a'), utf8('b'), utf8('c')]);
      const before = log.rootHash();
      const refusedPublish = db.transaction(() => {
        log.append(utf8('d'));
        log.append(utf8('e'));
        throw new Error('version already exists'); // the registry refuses the publish
      });
      expect(() => refusedPublish()).toThrow('version already exists');
      expect(log.size).toBe(3);
      expect(log.rootHash()).toEqual(before);
      expect(appendAll(db, log, [utf8('f')])).toEqual([3]);
      db.close();
    });

    it('refuses an append outside a transaction', () => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      expect(() => log.append(utf8('a'))).toThrow(TypeError);
      db.close();
    });
  });

  describe('when the parameters are out of range', () => {
    it.each([
      ['a leaf index beyond the tree', (l: TransparencyLog) => l.inclusionProof(5, 5)],
      ['a tree size beyond the log', (l: TransparencyLog) => l.inclusionProof(0, 6)],
      ['a negative index', (l: TransparencyLog) => l.inclusionProof(-1, 5)],
      ['a fractional size', (l: TransparencyLog) => l.rootHash(2.5)],
      ['a consistency proof from 0', (l: TransparencyLog) => l.consistencyProof(0, 5)],
      ['a consistency proof backwards', (l: TransparencyLog) => l.consistencyProof(4, 3)],
      ['entries with start after end', (l: TransparencyLog) => l.entries(3, 2)],
    ])('refuses %s with LOG_BAD_REQUEST', (_case, call) => {
      const db = openDb(join(tmp.dir, 'log.db'));
      const log = openLog(db, key);
      appendAll(db, log, Array.from({ length: 5 }, (_, i) => utf8(`${i}`)));
      const error = logErrorOf(() => call(log));
      expect(error.code).toBe('LOG_BAD_REQUEST');
      expect(error.status).toBe(400);
      db.close();
    });
  });
});

describe('CheckpointStore', () => {
  /** Two registries that share a prefix of 5 events and then diverge: a forked log. */
  function forkedLogs() {
    const dbA = openDb(join(tmp.dir, 'a.db'));
    const dbB = openDb(join(tmp.dir, 'b.db'));
    const a = openLog(dbA, key);
    const b = openLog(dbB, key); // the same log identity and key: a fork, not another log
    const prefix = Array.from({ length: 5 }, (_, i) => eventLeaf(i));
    appendAll(dbA, a, prefix);
    appendAll(dbB, b, prefix);
    const prefixNote = a.checkpoint();
    expect(b.checkpoint().split('\n').slice(0, 3)).toEqual(prefixNote.split('\n').slice(0, 3));
    appendAll(dbA, a, [eventLeaf(5, 'a')]);
    appendAll(dbB, b, [eventLeaf(5, 'b')]);
    const a6 = a.checkpoint();
    const b6 = b.checkpoint();
    appendAll(dbA, a, [eventLeaf(6, 'a'), eventLeaf(7, 'a')]);
    appendAll(dbB, b, [eventLeaf(6, 'b'), eventLeaf(7, 'b'), eventLeaf(8, 'b'), eventLeaf(9, 'b')]);
    return { a, b, prefixNote, a6, b6, a8: a.checkpoint(), b10: b.checkpoint(), close: () => (dbA.close(), dbB.close()) };
  }

  it('advances along one history', async () => {
    const f = forkedLogs();
    const store = new CheckpointStore(f.a.verifierKey(), { origin: ORIGIN });
    await store.advance(f.prefixNote, fetcherFor(f.a));
    await store.advance(f.a6, fetcherFor(f.a));
    await store.advance(f.a8, fetcherFor(f.a));
    expect(store.current?.size).toBe(8);
    f.close();
  });

  it.each([
    ['a same-size checkpoint of the other branch', 'b6', 6],
    ['a later checkpoint of the other branch', 'b10', 8],
    ['an older checkpoint of the other branch (split view)', 'b6', 8],
  ] as const)('detects a fork: %s', async (_case, which, seen) => {
    const f = forkedLogs();
    const store = new CheckpointStore(f.a.verifierKey());
    await store.advance(seen === 6 ? f.a6 : f.a8, fetcherFor(f.a));
    // The forked registry answers consistency requests from its own tree.
    const error = await rejection(store.advance(f[which], fetcherFor(f.b)));
    expect(error.code).toBe('LOG_INCONSISTENT');
    expect(store.current?.size).toBe(seen); // the stored checkpoint is kept
    f.close();
  });

  it('accepts an older checkpoint of the same history but never moves back to it (rollback)', async () => {
    const f = forkedLogs();
    const store = new CheckpointStore(f.a.verifierKey());
    await store.advance(f.a8, fetcherFor(f.a));
    await expect(store.advance(f.prefixNote, fetcherFor(f.a))).resolves.toMatchObject({ size: 5 });
    expect(store.current?.size).toBe(8);
    // The forked registry cannot prove that its history contains the stored one.
    expect((await rejection(store.advance(f.prefixNote, fetcherFor(f.b)))).code).toBe('LOG_INCONSISTENT');
    f.close();
  });

  it('restores from a stored note and refuses a bad one', async () => {
    const f = forkedLogs();
    const store = await CheckpointStore.fromNote(f.a.verifierKey(), f.a8);
    expect(store.current?.size).toBe(8);
    expect((await rejection(CheckpointStore.fromNote(f.a.verifierKey(), f.a8.replace('\n8\n', '\n9\n')))).code).toBe('BAD_CHECKPOINT');
    f.close();
  });
});

describe('log rollback and corruption', () => {
  it('a registry restored from an old backup cannot sign, and a client refuses its new history', async () => {
    const file = join(tmp.dir, 'log.db');
    const db = openDb(file);
    const log = openLog(db, key);
    appendAll(db, log, Array.from({ length: 5 }, (_, i) => eventLeaf(i)));
    const five = log.checkpoint();
    db.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(file, join(tmp.dir, 'backup.db'));
    appendAll(db, log, Array.from({ length: 3 }, (_, i) => eventLeaf(5 + i)));
    const eight = log.checkpoint();
    const client = new CheckpointStore(log.verifierKey());
    await client.advance(five, fetcherFor(log));
    await client.advance(eight, fetcherFor(log));

    // The leaves after 5 vanish but the signed checkpoints remain: the log refuses to sign.
    db.prepare('DELETE FROM log_leaves WHERE idx >= 5').run();
    db.prepare('DELETE FROM log_nodes WHERE (idx + 1) * (1 << level) > 5').run();
    expect(logErrorOf(() => log.checkpoint()).code).toBe('LOG_CORRUPT');
    db.close();

    // A whole-database restore forgets the checkpoint of size 8 and grows another history.
    const restoredDb = openDb(join(tmp.dir, 'backup.db'));
    const restored = openLog(restoredDb, key);
    expect(restored.checkpoint()).toBe(five);
    appendAll(restoredDb, restored, Array.from({ length: 4 }, (_, i) => eventLeaf(5 + i, 'x')));
    const error = await rejection(client.advance(restored.checkpoint(), fetcherFor(restored)));
    expect(error.code).toBe('LOG_INCONSISTENT');
    restoredDb.close();
  });

  it('refuses to sign when a stored subtree hash was altered', () => {
    const db = openDb(join(tmp.dir, 'log.db'));
    const log = openLog(db, key);
    appendAll(db, log, Array.from({ length: 8 }, (_, i) => eventLeaf(i)));
    log.checkpoint();
    db.prepare('UPDATE log_nodes SET hash = ? WHERE level = 3 AND idx = 0').run(new Uint8Array(32));
    expect(logErrorOf(() => log.checkpoint()).code).toBe('LOG_CORRUPT');
    appendAll(db, log, [eventLeaf(8)]);
    expect(logErrorOf(() => log.checkpoint()).code).toBe('LOG_CORRUPT');
    db.close();
  });

  // Consecutive checkpoints of one log object are checked against the border it signed last,
  // not with a proof (extendsHead): the same corruptions must still stop it, wherever they are.
  it.each([
    ['a new leaf hash', 'level = 0 AND idx = 13'],
    ['the new border (the subtree the new root folds from)', 'level = 4 AND idx = 0'],
    ['a subtree of the signed border', 'level = 3 AND idx = 0'],
  ])('refuses to sign after %s changed between two checkpoints', (_name, where) => {
    const db = openDb(join(tmp.dir, 'log.db'));
    const log = openLog(db, key);
    appendAll(db, log, Array.from({ length: 10 }, (_, i) => eventLeaf(i)));
    log.checkpoint(); // size 10: border (3, 0), (1, 4)
    appendAll(db, log, Array.from({ length: 6 }, (_, i) => eventLeaf(10 + i)));
    db.prepare(`UPDATE log_nodes SET hash = ? WHERE ${where}`).run(new Uint8Array(32).fill(7));
    expect(logErrorOf(() => log.checkpoint()).code).toBe('LOG_CORRUPT');
    db.close();
  });

  it('signs, checkpoint after checkpoint, the root a fresh computation gives', () => {
    const db = openDb(join(tmp.dir, 'log.db'));
    const log = openLog(db, key);
    const all: Uint8Array[] = [];
    for (const n of [1, 2, 5, 8, 9, 16, 31, 33]) {
      const more = Array.from({ length: n }, (_, i) => eventLeaf(all.length + i));
      appendAll(db, log, more);
      all.push(...more);
      const note = log.checkpoint();
      expect(note).toContain(`\n${all.length}\n${toBase64(merkleRoot(all.map((l) => leafHash(l))))}\n`);
    }
    db.close();
  });
});

describe('fsckLog', () => {
  function build(n: number) {
    const db = openDb(join(tmp.dir, 'log.db'));
    const log = openLog(db, key);
    for (let i = 0; i < n; i += 7) {
      appendAll(db, log, Array.from({ length: Math.min(7, n - i) }, (_, j) => eventLeaf(i + j)));
      log.checkpoint();
    }
    return { db, log };
  }

  it('passes a healthy log and feeds every decoded entry to the cross-check hook', async () => {
    const { db, log } = build(40);
    const seen: string[] = [];
    const report = await fsckLog(db, {
      origin: ORIGIN,
      verifierKey: log.verifierKey(),
      onEntry: (e) => void seen.push(e.event?.kind ?? 'none'),
      pageSize: 16,
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.size).toBe(40);
    expect(report.rootHash).toBe(toBase64(log.rootHash()));
    expect(report.checkpoints).toBe(6);
    expect(seen).toHaveLength(40);
    expect(new Set(seen)).toEqual(new Set(['version.published']));
    db.close();
  });

  it.each([
    ['a tampered entry row', 'UPDATE log_leaves SET data = ? WHERE idx = 17', [eventLeaf(99)], ['NODE_MISMATCH', 'CHECKPOINT_ROOT_MISMATCH']],
    ['an entry that is not JCS', 'UPDATE log_leaves SET data = ? WHERE idx = 3', [utf8('{"b":1, "a":2}')], ['ENTRY_INVALID', 'NODE_MISMATCH']],
    ['a tampered subtree hash', 'UPDATE log_nodes SET hash = ? WHERE level = 2 AND idx = 1', [new Uint8Array(32)], ['NODE_MISMATCH']],
    ['a tampered checkpoint root', 'UPDATE log_checkpoints SET root = ? WHERE size = 21', [new Uint8Array(32)], ['CHECKPOINT_ROOT_MISMATCH', 'CHECKPOINT_NOTE_INVALID', 'CHECKPOINT_INCONSISTENT']],
    ['a missing leaf', 'DELETE FROM log_leaves WHERE idx = ?', [10], ['LEAF_GAP']],
  ] as const)('detects %s', async (_attack, sql, params, codes) => {
    const { db, log } = build(40);
    db.prepare(sql).run(...params);
    const report = await fsckLog(db, { origin: ORIGIN, verifierKey: log.verifierKey() });
    expect(report.ok).toBe(false);
    for (const code of codes) expect(report.problems.map((p) => p.code)).toContain(code);
    db.close();
  });

  it('reports the entries the registry cross-check rejects', async () => {
    const { db } = build(10);
    const report = await fsckLog(db, {
      onEntry: (e) => {
        if (e.index === 4) throw new Error('no registry row for com.acme/tool-a 1.0.4');
      },
    });
    expect(report.problems).toEqual([{ code: 'ENTRY_REJECTED', index: 4, message: 'no registry row for com.acme/tool-a 1.0.4' }]);
    db.close();
  });
});
