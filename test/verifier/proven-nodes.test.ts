import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { leafHash, nodeHash, rootFromInclusionProof, verifyInclusion } from '../../protocol/index.js';
import { ProvenNodes } from '../../client-verifier/log/proven-nodes.js';

// An independent RFC 9162 section 2.1.1 / 2.1.3.1 reference: MTH and PATH by their recursive definitions.
const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
const split = (n: number): number => 2 ** Math.floor(Math.log2(n - 1));
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return d[0]!;
  const k = split(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
const reference = (leaf: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): boolean => {
  try {
    verifyInclusion(leaf, index, size, proof, root);
    return true;
  } catch {
    return false;
  }
};
const flip = (bytes: Uint8Array, at: number): Uint8Array => {
  const copy = new Uint8Array(bytes); // a copy (a Buffer's slice would share its memory)
  copy[at % copy.length]! ^= 1;
  return copy;
};

describe('ProvenNodes (inclusion proofs sharing proven nodes)', () => {
  describe('when honest proofs of many leaves of one tree are checked in any order', () => {
    it('accepts every one (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300 }).chain((size) => fc.tuple(fc.constant(size), fc.array(fc.nat(size - 1), { minLength: 1, maxLength: 60 }))), ([size, order]) => {
          const d = leaves(size);
          const proven = new ProvenNodes(size, mth(d));
          for (const i of order) expect(proven.verify(d[i]!, i, path(i, d))).toBe(true);
        }),
        { numRuns: 60 },
      );
    });
  });

  describe('when the caller changes a proof array after it was proven', () => {
    it('keeps what it proved (it stores copies)', () => {
      const d = leaves(8);
      const proven = new ProvenNodes(8, mth(d));
      const proof = path(2, d).map((h) => new Uint8Array(h)); // its own arrays (path shares the leaves' hashes)
      expect(proven.verify(d[2]!, 2, proof)).toBe(true);
      const honest = path(3, d);
      for (const h of proof) h.fill(0);
      expect(proven.verify(d[3]!, 3, honest)).toBe(true);
      expect(proven.verify(d[3]!, 3, honest.map((h, k) => (k === honest.length - 1 ? new Uint8Array(32) : h)))).toBe(false);
    });
  });

  describe('when a proof is altered after other leaves were proven', () => {
    it('answers exactly as the full verification, for every leaf, every hash and every tree size up to 40', () => {
      for (let size = 1; size <= 40; size++) {
        const d = leaves(size);
        const root = mth(d);
        const proven = new ProvenNodes(size, root);
        for (let i = 0; i < size; i += 3) proven.verify(d[i]!, i, path(i, d)); // warm: some paths proven
        for (let i = 0; i < size; i++) {
          const honest = path(i, d);
          const cases: [Uint8Array, number, Uint8Array[]][] = [
            [flip(d[i]!, i), i, honest], // another leaf
            [d[i]!, (i + 1) % size, honest], // another index
            [d[i]!, i, honest.slice(1)], // a hash short
            [d[i]!, i, [...honest, root]], // a hash too many
            ...honest.map((_, k): [Uint8Array, number, Uint8Array[]] => [d[i]!, i, honest.map((h, j) => (j === k ? flip(h, k + i) : h))]), // one hash altered, incl. above a merge
          ];
          for (const [leaf, index, proof] of cases) {
            expect(proven.verify(leaf, index, proof)).toBe(reference(leaf, index, size, proof, root));
          }
          expect(proven.verify(d[i]!, i, honest)).toBe(true);
        }
      }
    });
  });

  describe('when the tree is large', () => {
    it('handles leaf indices beyond 2^32 (plain arithmetic, no 32-bit operators)', () => {
      const size = 2 ** 33 + 5;
      const hash = (s: string): Uint8Array => createHash('sha256').update(s).digest();
      const leaf = leafHash(new TextEncoder().encode('leaf'));
      for (const index of [size - 1, size - 2, 2 ** 32 + 7, 3]) {
        // the proof length for this index, found by the reference code
        const length = Array.from({ length: 70 }, (_, n) => n).find((n) => {
          try {
            rootFromInclusionProof(leaf, index, size, Array.from({ length: n }, () => new Uint8Array(32)));
            return true;
          } catch {
            return false;
          }
        })!;
        const proof = Array.from({ length }, (_, k) => hash(`${index} ${k}`));
        const root = rootFromInclusionProof(leaf, index, size, proof);
        const proven = new ProvenNodes(size, root);
        expect(proven.verify(leaf, index, proof)).toBe(true);
        const altered = proof.map((h, k) => (k === length - 1 ? flip(h, 0) : h));
        expect(proven.verify(leaf, index, altered)).toBe(false);
        expect(() => verifyInclusion(leaf, index, size, altered, root)).toThrow();
      }
    });
  });
});
