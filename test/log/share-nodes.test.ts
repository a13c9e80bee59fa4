import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../protocol/index.js';
import { MerkleTreeStore } from '../../registry/log/index.js';

// A bundle set proves up to 256 leaves of one tree in one pass (reads.bundleSet): shareNodes
// reads each subtree hash once for all of them. The proofs must be the same bytes either way.
const N = 1500;
let db: Database.Database;
let tree: MerkleTreeStore;

beforeAll(() => {
  db = new Database(':memory:');
  tree = new MerkleTreeStore(db);
  db.transaction(() => {
    for (let i = 0; i < N; i++) tree.append(utf8(`leaf-${i}`));
  })();
});
afterAll(() => db.close());

describe('MerkleTreeStore.shareNodes', () => {
  describe('when many inclusion proofs of one tree are made together', () => {
    it('gives the same proofs, byte for byte, as made one by one (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.nat(n - 1), { minLength: 1, maxLength: 64 }))), ([n, leaves]) => {
          const alone = leaves.map((i) => tree.inclusionProof(i, n));
          const shared = tree.shareNodes(() => leaves.map((i) => tree.inclusionProof(i, n)));
          expect(shared).toEqual(alone);
        }),
        { numRuns: 200 },
      );
    });

    it('gives the same proofs for different tree sizes within one pass (a range is a range)', () => {
      const pairs: [number, number][] = [[5, 13], [5, 12], [100, 1024], [100, 1025], [1023, 1024], [0, 1], [0, N]];
      const alone = pairs.map(([i, n]) => tree.inclusionProof(i, n));
      expect(tree.shareNodes(() => pairs.map(([i, n]) => tree.inclusionProof(i, n)))).toEqual(alone);
    });
  });

  describe('when leaves are appended after a shared pass', () => {
    it('forgets what it read: the next proofs are of the grown tree', () => {
      const before = tree.shareNodes(() => tree.inclusionProof(N - 1, N));
      db.transaction(() => tree.append(utf8('one more')))();
      expect(tree.shareNodes(() => tree.inclusionProof(N - 1, N + 1))).toEqual(tree.inclusionProof(N - 1, N + 1));
      expect(tree.inclusionProof(N - 1, N)).toEqual(before);
    });
  });
});
