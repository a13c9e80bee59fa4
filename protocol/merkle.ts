import { bytesEqual, concatBytes } from './encoding.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';

/**
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proof verification.
 * Portable: no node: imports. The algorithms follow RFC 9162 section 2.1.3.2 and 2.1.4.2 in the
 * decomposed form of transparency-dev/merkle (proof/verify.go), whose test vectors
 * (test/fixtures/merkle) run against these functions.
 *
 * Tree sizes and indices are JS numbers limited to 2^53 - 1 (Number.MAX_SAFE_INTEGER): a log
 * grows by far less than that, and anything larger is refused rather than silently rounded.
 * Bit operations are done on numbers without the 32-bit `>>`/`&` operators for that reason.
 */

export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);

/** The root of the empty tree: SHA-256 of the empty string (RFC 9162 section 2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** MTH({d}) = SHA-256(0x00 || d): the leaf prefix separates leaves from nodes (second-preimage defence). */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, data));
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

const TWO32 = 2 ** 32;

/** Bit i (0 = least significant) of a safe non-negative integer. */
function bit(x: number, i: number): number {
  return Math.floor(x / 2 ** i) % 2;
}

/** x >> n for safe non-negative integers. */
function shiftRight(x: number, n: number): number {
  return Math.floor(x / 2 ** n);
}

/** Number of bits needed to represent x (0 for 0). */
function bitLength(x: number): number {
  const hi = Math.floor(x / TWO32);
  if (hi > 0) return 64 - Math.clz32(hi);
  return 32 - Math.clz32(x >>> 0);
}

function popCount(x: number): number {
  let n = 0;
  for (let v = x; v > 0; v = Math.floor(v / 2)) n += v % 2;
  return n;
}

function trailingZeros(x: number): number {
  if (x === 0) return 0;
  let n = 0;
  for (let v = x; v % 2 === 0; v /= 2) n++;
  return n;
}

function xor(a: number, b: number): number {
  const hi = (Math.floor(a / TWO32) ^ Math.floor(b / TWO32)) >>> 0;
  const lo = ((a >>> 0) ^ (b >>> 0)) >>> 0;
  return hi * TWO32 + lo;
}

/** Largest power of two strictly less than n (n >= 2): the split point k of RFC 9162 section 2.1.1. */
export function largestPowerOfTwoBelow(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

/**
 * RFC 9162 inclusion proofs split into an "inner" part (siblings below the point where the
 * leaf's path and the last leaf's path meet) and a "border" part (the left siblings on the right
 * border of the tree).
 */
function decomposeInclusionProof(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(xor(index, size - 1));
  const border = popCount(shiftRight(index, inner));
  return { inner, border };
}

function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let h = seed;
  proof.forEach((p, i) => {
    h = bit(index, i) === 0 ? nodeHash(h, p) : nodeHash(p, h);
  });
  return h;
}

function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let h = seed;
  proof.forEach((p, i) => {
    if (bit(index, i) === 1) h = nodeHash(p, h);
  });
  return h;
}

function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let h = seed;
  for (const p of proof) h = nodeHash(p, h);
  return h;
}

const isSize = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function checkBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

function checkProof(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) throw new TypeError('proof must be an array of Uint8Array');
  proof.forEach((p, i) => checkBytes(`proof[${i}]`, p));
}

function inclusionError(message: string): ProtocolError {
  return new ProtocolError('BAD_INCLUSION_PROOF', message);
}

function consistencyError(message: string): ProtocolError {
  return new ProtocolError('BAD_CONSISTENCY_PROOF', message);
}

/**
 * The root implied by an inclusion proof of `leafHash` at `leafIndex` in a tree of `treeSize`
 * leaves. Throws BAD_INCLUSION_PROOF when the proof's shape cannot fit (wrong length, index out of
 * range, hashes of the wrong size); it does not compare with any root (see verifyInclusion).
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  leafIndex: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkBytes('leafHash', leafHash);
  checkProof(proof);
  if (!isSize(leafIndex) || !isSize(treeSize)) throw inclusionError('leaf index or tree size is not an integer in [0, 2^53)');
  if (leafIndex >= treeSize) throw inclusionError(`leaf index ${leafIndex} is beyond tree size ${treeSize}`);
  if (leafHash.length !== HASH_SIZE) throw inclusionError(`leaf hash has ${leafHash.length} bytes, want ${HASH_SIZE}`);
  const { inner, border } = decomposeInclusionProof(leafIndex, treeSize);
  if (proof.length !== inner + border)
    throw inclusionError(`inclusion proof has ${proof.length} hashes, want ${inner + border}`);
  if (proof.some((p) => p.length !== HASH_SIZE)) throw inclusionError(`inclusion proof hash is not ${HASH_SIZE} bytes`);
  const h = chainInner(leafHash, proof.slice(0, inner), leafIndex);
  return chainBorderRight(h, proof.slice(inner));
}

/**
 * Verifies that `leafHash` is the leaf at `leafIndex` of the tree of size `treeSize` whose root is
 * `root` (RFC 9162 section 2.1.3.2). Throws ProtocolError BAD_INCLUSION_PROOF otherwise.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  leafIndex: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkBytes('root', root);
  const computed = rootFromInclusionProof(leafHash, leafIndex, treeSize, proof);
  if (!bytesEqual(computed, root)) throw inclusionError('inclusion proof does not lead to the expected root');
}

/**
 * Verifies that the tree of size `size2` with root `root2` extends the tree of size `size1` with
 * root `root1` (RFC 9162 section 2.1.4.2): the log only appended. Throws ProtocolError
 * BAD_CONSISTENCY_PROOF otherwise. Defends against a log that rewrites history or shows two
 * clients different histories (split view).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkProof(proof);
  checkBytes('root1', root1);
  checkBytes('root2', root2);
  if (!isSize(size1) || !isSize(size2)) throw consistencyError('tree sizes must be integers in [0, 2^53)');
  if (size2 < size1) throw consistencyError(`size2 ${size2} is smaller than size1 ${size1}`);
  // RFC 9162 section 2.1.4 defines consistency proofs for 0 < size1 only: every tree extends the
  // empty one, so such a "proof" proves nothing and a caller asking for one has a bug. Callers
  // that hold no checkpoint yet (size 0) skip the check explicitly (see CheckpointStore).
  if (size1 === 0) throw consistencyError('no consistency proof exists from the empty tree');
  if (size1 === size2) {
    if (proof.length > 0) throw consistencyError('equal tree sizes need an empty proof');
    if (!bytesEqual(root1, root2)) throw consistencyError('equal tree sizes with different roots');
    return;
  }
  if (proof.length === 0) throw consistencyError('empty consistency proof');
  if (proof.some((p) => p.length !== HASH_SIZE)) throw consistencyError(`consistency proof hash is not ${HASH_SIZE} bytes`);

  const decomposed = decomposeInclusionProof(size1 - 1, size2);
  const shift = trailingZeros(size1);
  const inner = decomposed.inner - shift; // shift < inner because size1 < size2
  const border = decomposed.border;

  // The proof starts with the root of the subtree of size 2^shift, unless size1 is that subtree.
  let seed: Uint8Array;
  let start: number;
  if (size1 === 2 ** shift) {
    seed = root1;
    start = 0;
  } else {
    seed = proof[0]!;
    start = 1;
  }
  if (proof.length !== start + inner + border)
    throw consistencyError(`consistency proof has ${proof.length} hashes, want ${start + inner + border}`);
  const rest = proof.slice(start);
  const innerPart = rest.slice(0, inner);
  const borderPart = rest.slice(inner);
  const mask = shiftRight(size1 - 1, shift);

  const hash1 = chainBorderRight(chainInnerRight(seed, innerPart, mask), borderPart);
  if (!bytesEqual(hash1, root1)) throw consistencyError('consistency proof does not lead to the first root');
  const hash2 = chainBorderRight(chainInner(seed, innerPart, mask), borderPart);
  if (!bytesEqual(hash2, root2)) throw consistencyError('consistency proof does not lead to the second root');
}

/**
 * The root of a tree from all its leaf hashes, in one pass with O(log n) memory (a stack of
 * perfect-subtree roots). For rebuilding a whole log offline (fsck) and for tests.
 */
export function merkleRoot(leafHashes: Iterable<Uint8Array>): Uint8Array {
  const stack: { size: number; hash: Uint8Array }[] = [];
  let count = 0;
  for (const h of leafHashes) {
    let node = { size: 1, hash: h };
    // Merge equal-sized perfect subtrees: the stack holds the binary decomposition of `count`.
    while (stack.length > 0 && stack[stack.length - 1]!.size === node.size) {
      const left = stack.pop()!;
      node = { size: left.size * 2, hash: nodeHash(left.hash, node.hash) };
    }
    stack.push(node);
    count++;
  }
  if (count === 0) return EMPTY_ROOT;
  let root = stack.pop()!.hash;
  while (stack.length > 0) root = nodeHash(stack.pop()!.hash, root);
  return root;
}
