import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash, merkleRoot, utf8, verifyConsistency, verifyInclusion } from '../../protocol/index.js';
import { TransparencyLog } from '../../registry/log/index.js';
import { SqliteStore } from '../../registry/store/sqlite/sqlite-store.js';
import { ORIGIN, appendAll, protocolCode } from './helpers.js';

const N = 3000;
let store: SqliteStore;
let log: TransparencyLog;
const hashes: Uint8Array[] = [];
const roots: Uint8Array[] = [];

beforeAll(async () => {
  store = SqliteStore.open({ path: ':memory:' });
  log = await TransparencyLog.open(store, { origin: ORIGIN });
  const leaves = Array.from({ length: N }, (_, i) => utf8(`leaf-${i}`));
  await appendAll(store, log, leaves);
  for (const data of leaves) hashes.push(leafHash(data));
  // Reference roots from an in-memory rebuild, independent of the stored subtree scheme.
  for (const n of [1, 2, 3, 1023, 1024, 1025, N]) roots[n] = merkleRoot(hashes.slice(0, n));
});
afterAll(() => store.close());

const flip = (proof: Uint8Array[], which: number, bit: number): Uint8Array[] =>
  proof.map((h, k) => {
    if (k !== which) return h;
    const c = h.slice();
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  });

describe('stored Merkle tree', () => {
  it('has the roots of an in-memory rebuild', async () => {
    for (const n of [1, 2, 3, 1023, 1024, 1025, N]) expect(await log.rootHash(n)).toEqual(roots[n]);
    expect((await log.latestCheckpoint()).rootHash).toEqual(roots[N]);
  });

  describe('when proving inclusion at random sizes', () => {
    it('verifies, and fails with any one bit of the proof flipped (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(), fc.nat(255))), async ([n, i, w, bit]) => {
          const root = await log.rootHash(n);
          const proof = await log.inclusionProof(i, n);
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
    it('verifies, and fails with any one bit of the proof flipped (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: N }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n), fc.nat(), fc.nat(255))), async ([m, n, w, bit]) => {
          const r1 = await log.rootHash(m);
          const r2 = await log.rootHash(n);
          const proof = await log.consistencyProof(m, n);
          verifyConsistency(m, n, proof, r1, r2);
          expect(protocolCode(() => verifyConsistency(m, n, flip(proof, w % proof.length, bit), r1, r2))).toBe('BAD_CONSISTENCY_PROOF');
        }),
        { numRuns: 300 },
      );
    });
  });
});
