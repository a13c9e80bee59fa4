import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../protocol/index.js';
import { TransparencyLog } from '../../registry/log/index.js';
import { SqliteStore } from '../../registry/store/sqlite/sqlite-store.js';
import type { TreeReader } from '../../registry/store/types.js';
import { ORIGIN, appendAll } from './helpers.js';

// A bundle set proves up to 256 leaves of one tree at once (reads.bundleSet): inclusionProofs
// plans every proof first and reads the subtree hashes they need in ONE TreeReader.nodes call,
// each coordinate once (replaces the old MerkleTreeStore.shareNodes pass, now gone). The proofs
// must be the same bytes as made one by one.
const N = 1500;
let store: SqliteStore;
let log: TransparencyLog;
/** Every TreeReader.nodes call the log makes: its coordinates. */
const reads: (readonly (readonly [number, number])[])[] = [];

/** The store, with its committed-read tree wrapped to record the node reads. */
function countingStore(inner: SqliteStore): SqliteStore {
  const tree: TreeReader = Object.create(inner.tree, {
    nodes: {
      value: (coordinates: readonly (readonly [number, number])[]) => {
        reads.push(coordinates);
        return inner.tree.nodes(coordinates);
      },
    },
  });
  return new Proxy(inner, {
    get(target, p) {
      if (p === 'tree') return tree;
      const value = Reflect.get(target, p, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  store = SqliteStore.open({ path: ':memory:' });
  log = await TransparencyLog.open(countingStore(store), { origin: ORIGIN });
  await appendAll(store, log, Array.from({ length: N }, (_, i) => utf8(`leaf-${i}`)));
});
afterAll(() => store.close());

/** inclusionProofs, with the node reads it made. */
async function together(leaves: number[], n: number): Promise<{ proofs: Uint8Array[][]; reads: typeof reads }> {
  reads.length = 0;
  const proofs = await log.inclusionProofs(leaves, n);
  return { proofs, reads: reads.splice(0) };
}

const unique = (coordinates: readonly (readonly [number, number])[]): boolean => new Set(coordinates.map(([l, i]) => `${l}:${i}`)).size === coordinates.length;

describe('TransparencyLog.inclusionProofs', () => {
  describe('when many inclusion proofs of one tree are made together', () => {
    it('gives the same proofs, byte for byte, as made one by one (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.nat(n - 1), { minLength: 1, maxLength: 64 }))), async ([n, leaves]) => {
          const alone: Uint8Array[][] = [];
          for (const i of leaves) alone.push(await log.inclusionProof(i, n));
          expect((await together(leaves, n)).proofs).toEqual(alone);
        }),
        { numRuns: 200 },
      );
    });

    it('reads in one call, each once, exactly the subtree hashes the proofs one by one read (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.nat(n - 1), { minLength: 2, maxLength: 256 }))), async ([n, leaves]) => {
          const singly = new Set<string>();
          for (const i of leaves) for (const [l, k] of (await together([i], n)).reads.flat()) singly.add(`${l}:${k}`);
          const made = await together(leaves, n);
          expect(made.reads).toHaveLength(1);
          expect(unique(made.reads[0]!)).toBe(true);
          expect(new Set(made.reads[0]!.map(([l, k]) => `${l}:${k}`))).toEqual(singly);
        }),
        { numRuns: 100 },
      );
    });

    it('reads a set of adjacent leaves\' shared path once: fewer nodes than the proofs hold', async () => {
      const leaves = Array.from({ length: 256 }, (_, k) => 600 + k);
      const made = await together(leaves, N);
      const hashes = made.proofs.reduce((k, p) => k + p.length, 0);
      expect(made.reads).toHaveLength(1);
      expect(made.reads[0]!.length * 4).toBeLessThan(hashes); // 256 proofs of ~11 hashes share most of them
    });

    it('gives the same proofs with repeated indexes and at the edges (first, last, powers of two)', async () => {
      const cases: [number[], number][] = [
        [[5, 5, 0, 12], 13],
        [[100, 1023, 0, 100], 1024],
        [[1024, 0, 100], 1025],
        [[0], 1],
        [[0, N - 1, N - 1], N],
      ];
      for (const [leaves, n] of cases) {
        const alone: Uint8Array[][] = [];
        for (const i of leaves) alone.push(await log.inclusionProof(i, n));
        const made = await together(leaves, n);
        expect(made.proofs).toEqual(alone);
        expect(made.reads.length).toBeLessThanOrEqual(1); // none at all for a one-leaf tree
      }
    });
  });

  describe('when leaves are appended after proofs were made', () => {
    it('keeps nothing: the next proofs are of the grown tree, and the old size\'s are unchanged', async () => {
      const before = await log.inclusionProofs([N - 1, 3], N);
      await appendAll(store, log, [utf8('one more')]);
      expect(await log.inclusionProofs([N - 1, N], N + 1)).toEqual([await log.inclusionProof(N - 1, N + 1), await log.inclusionProof(N, N + 1)]);
      expect(await log.inclusionProofs([N - 1, 3], N)).toEqual(before);
      expect(await log.inclusionProof(N - 1, N + 1)).not.toEqual(before[0]);
    });
  });
});
