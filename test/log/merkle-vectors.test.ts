import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../client-verifier/log/index.js';
import { ProtocolError, fromBase64, rootFromInclusionProof } from '../../protocol/index.js';

const ROOT = join(import.meta.dirname, '../fixtures/merkle');

interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function load<T>(dir: string): [string, T][] {
  const out: [string, T][] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.json')) out.push([relative(ROOT, p), JSON.parse(readFileSync(p, 'utf8')) as T]);
    }
  };
  walk(join(ROOT, dir));
  return out;
}

// Some roots in the vectors are deliberately not valid hashes ("ZG9uJ3QgY2FyZSAy"), which still
// decode as base64; leafIdx 2^64-1 (leafIdx-sub-@1) arrives as an unsafe number and must be refused.
const b64 = (s: string): Uint8Array => fromBase64(s);
const proofOf = (p: string[] | null): Uint8Array[] => (p ?? []).map(b64);

const inclusion = load<InclusionCase>('inclusion');
const consistency = load<ConsistencyCase>('consistency');

describe('RFC 9162 proofs (transparency-dev/merkle vectors)', () => {
  it('has the whole vector set', () => {
    expect(inclusion.length).toBe(98);
    expect(consistency.length).toBe(98);
  });

  describe('verifyInclusion', () => {
    it.each(inclusion.filter(([, c]) => !c.wantErr))('accepts %s', (_name, c) => {
      expect(() => verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, proofOf(c.proof), b64(c.root))).not.toThrow();
      expect(rootFromInclusionProof(b64(c.leafHash), c.leafIdx, c.treeSize, proofOf(c.proof))).toEqual(b64(c.root));
    });

    it.each(inclusion.filter(([, c]) => c.wantErr))('refuses %s', (_name, c) => {
      let error: unknown;
      try {
        verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, proofOf(c.proof), b64(c.root));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('BAD_INCLUSION_PROOF');
    });
  });

  describe('verifyConsistency', () => {
    it.each(consistency.filter(([, c]) => !c.wantErr))('accepts %s', (_name, c) => {
      expect(() => verifyConsistency(c.size1, c.size2, proofOf(c.proof), b64(c.root1), b64(c.root2))).not.toThrow();
    });

    it.each(consistency.filter(([, c]) => c.wantErr))('refuses %s', (_name, c) => {
      let error: unknown;
      try {
        verifyConsistency(c.size1, c.size2, proofOf(c.proof), b64(c.root1), b64(c.root2));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('BAD_CONSISTENCY_PROOF');
    });
  });

  describe('when arguments have the wrong type', () => {
    it('throws TypeError naming the argument', () => {
      expect(() => verifyInclusion('x' as unknown as Uint8Array, 0, 1, [], new Uint8Array(32))).toThrow(/leafHash/);
      expect(() => verifyConsistency(1, 2, null as unknown as Uint8Array[], new Uint8Array(32), new Uint8Array(32))).toThrow(TypeError);
    });
  });
});
