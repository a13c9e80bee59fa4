import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash, merkleRoot, utf8, verifyConsistency, verifyInclusion } from '../../protocol/index.js';
import { MerkleTreeStore } from '../../registry/log/index.js';
import { protocolCode } from './helpers.js';

const N = 3000;
let db: Database.Database;
let tree: MerkleTreeStore;
const hashes: Uint8Array[] = [];
const roots: Uint8Array[] = [];

beforeAll(() => {
  db = new Database(':memory:');
  tree = new MerkleTreeStore(db);
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const data = utf8(`leaf-${i}`);
      tree.append(data);
      hashes.push(leafHash(data));
    }
  })();
  // Reference roots from an in-memory rebuild, independent of the stored subtree scheme.
  for (const n of [1, 2, 3, 1023, 1024, 1025, N]) roots[n] = merkleRoot(hashes.slice(0, n));
});
afterAll(() => db.close());

const flip = (proof: Uint8Array[], which: number, bit: number): Uint8Array[] =>
  proof.map((h, k) => {
    if (k !== which) return h;
    const c = h.slice();
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  });

describe('stored Merkle tree', () => {
  it('has the roots of an in-memory rebuild', () => {
    for (const n of [1, 2, 3, 1023, 1024, 1025, N]) expect(tree.rootHash(n)).toEqual(roots[n]);
  });

  describe('when proving inclusion at random sizes', () => {
    it('verifies, and fails with any one bit of the proof flipped (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(), fc.nat(255))), ([n, i, w, bit]) => {
          const root = tree.rootHash(n);
          const proof = tree.inclusionProof(i, n);
          verifyInclusion(hashes[i]!, i, n, proof, root);
          if (proof.length > 0) expect(protocolCode(() => verifyInclusion(hashes[i]!, i, n, flip(proof, w % proof.length, bit), root))).toBe('BAD_INCLUSION_PROOF');
          // The same proof does not prove a neighbouring leaf.
          if (n > 1) expect(protocolCode(() => verifyInclusion(hashes[(i + 1) % n]!, i, n, proof, root))).toBe('BAD_INCLUSION_PROOF');
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('when proving consistency at random sizes', () => {
    it('verifies, and fails with any one bit of the proof flipped (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 2, max: N }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n), fc.nat(), fc.nat(255))), ([m, n, w, bit]) => {
          const r1 = tree.rootHash(m);
          const r2 = tree.rootHash(n);
          const proof = tree.consistencyProof(m, n);
          verifyConsistency(m, n, proof, r1, r2);
          expect(protocolCode(() => verifyConsistency(m, n, flip(proof, w % proof.length, bit), r1, r2))).toBe('BAD_CONSISTENCY_PROOF');
        }),
        { numRuns: 300 },
      );
    });
  });
});
