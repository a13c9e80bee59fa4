import { EMPTY_ROOT, largestPowerOfTwoBelow, nodeHash } from '@etdi/protocol';
import type { TreeReader } from '../store/types.js';
import { LogError } from './errors.js';

/**
 * RFC 9162 proofs as plans: which leaf ranges' hashes a root or proof needs depends only on the
 * sizes and indices, never on the hashes. So the log computes the ranges first, reads every
 * stored subtree hash they need in ONE round trip (TreeReader.nodes: a PostgreSQL store answers
 * over a socket), and folds them. Every range here starts at a multiple of the largest power of
 * two not above its length, so it splits into perfect subtrees, one per set bit of its length.
 */
export type Range = readonly [start: number, end: number];
type Coordinate = readonly [level: number, idx: number];

/** The perfect subtrees [start, end) splits into, largest first, as (level, index). */
export function rangeCoordinates(start: number, end: number): Coordinate[] {
  const out: Coordinate[] = [];
  let pos = start;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (end - pos < width) continue;
    if (pos % width !== 0) throw new LogError('LOG_CORRUPT', `internal: range [${start}, ${end}) is not aligned`);
    out.push([level, pos / width]);
    pos += width;
  }
  return out;
}

/** RFC 9162 section 2.1.3.1 PATH(m, D[0:n]): the ranges whose hashes form the proof, bottom-up. */
export function inclusionRanges(m: number, n: number): Range[] {
  const out: Range[] = [];
  const path = (m: number, start: number, n: number): void => {
    if (n === 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      path(m, start, k);
      out.push([start + k, start + n]);
    } else {
      path(m - k, start + k, n - k);
      out.push([start, start + k]);
    }
  };
  path(m, 0, n);
  return out;
}

/** RFC 9162 section 2.1.4.1 SUBPROOF(m, D[0:n], true): the ranges whose hashes form the proof. */
export function consistencyRanges(m: number, n: number): Range[] {
  const out: Range[] = [];
  const subproof = (m: number, start: number, n: number, b: boolean): void => {
    if (m === n) {
      if (!b) out.push([start, start + m]);
      return;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      subproof(m, start, k, b);
      out.push([start + k, start + n]);
    } else {
      subproof(m - k, start + k, n - k, false);
      out.push([start, start + k]);
    }
  };
  subproof(m, 0, n, true);
  return out;
}

/**
 * The hash of each range (MTH(D[start:end]), folded right to left as RFC 9162 defines it), from
 * one read of every stored subtree hash the ranges need. LOG_CORRUPT when one is missing.
 */
export async function rangeHashes(tree: TreeReader, ranges: readonly Range[]): Promise<Uint8Array[]> {
  const perRange = ranges.map(([start, end]) => rangeCoordinates(start, end));
  const unique = new Map<string, Coordinate>();
  for (const coordinates of perRange) for (const c of coordinates) unique.set(`${c[0]}:${c[1]}`, c);
  const wanted = [...unique.values()];
  const hashes = wanted.length === 0 ? [] : await tree.nodes(wanted);
  const found = new Map<string, Uint8Array>();
  wanted.forEach((c, i) => {
    const hash = hashes[i];
    if (hash === undefined) throw new LogError('LOG_CORRUPT', `missing subtree hash (${c[0]}, ${c[1]})`);
    found.set(`${c[0]}:${c[1]}`, hash);
  });
  return perRange.map((coordinates) => {
    if (coordinates.length === 0) return EMPTY_ROOT;
    const parts = coordinates.map((c) => found.get(`${c[0]}:${c[1]}`)!);
    let hash = parts.pop()!;
    while (parts.length > 0) hash = nodeHash(parts.pop()!, hash);
    return hash;
  });
}

/** The (level, index) of the left siblings leaf `index` completes: one per trailing one bit. */
export function leftSiblingsOf(index: number): Coordinate[] {
  const out: Coordinate[] = [];
  let level = 0;
  let i = index;
  while (i % 2 === 1) {
    out.push([level, i - 1]);
    level++;
    i = (i - 1) / 2;
  }
  return out;
}
