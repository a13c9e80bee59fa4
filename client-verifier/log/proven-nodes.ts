import { bytesEqual, nodeHash } from '@etdi/protocol';

/** Bound on remembered nodes per checkpoint (a listing needs a few per tool). */
const MAX_NODES = 65_536;

/**
 * Inclusion proofs (RFC 9162 section 2.1.3.2) against ONE verified checkpoint that share the
 * work of the proofs before them. A listing proves a hundred leaves against the same tree, and
 * a provider's tools sit next to each other in the log, so their paths to the root soon merge.
 *
 * Every node hash a successful proof computed or carried is MTH(D[start:end]) of the tree the
 * checkpoint signs: a node is named by the leaf range it covers, which is unique within a tree
 * of one size. A later proof that computes a node equal to a proven one, and whose remaining
 * siblings are the proven ones, would compute the proven path from there to the root: it is
 * accepted without the hashes above that node. So the answer is exactly that of the full
 * computation, which remains the fallback for anything else (and reports the error).
 */
export class ProvenNodes {
  private readonly nodes = new Map<string, Uint8Array>();

  constructor(
    private readonly size: number,
    private readonly root: Uint8Array,
  ) {}

  /**
   * True when `proof` proves `leafHash` at `index` in this tree. False means "not shown here":
   * the caller then runs the reference verification (protocol's verifyInclusion), which decides
   * and says why. Only full successes are remembered.
   */
  verify(leafHash: Uint8Array, index: number, proof: readonly Uint8Array[]): boolean {
    const steps = pathOf(index, this.size);
    if (steps === undefined || steps.length !== proof.length) return false;
    let h = leafHash;
    const computed: Uint8Array[] = [];
    for (let k = 0; k < steps.length; k++) {
      const step = steps[k]!;
      const sibling = proof[k]!;
      h = step.siblingOnLeft ? nodeHash(sibling, h) : nodeHash(h, sibling);
      computed.push(h);
      const known = this.nodes.get(step.parent);
      if (known !== undefined) {
        if (!bytesEqual(known, h)) return false;
        if (this.restIsProven(steps, proof, k + 1)) return true;
      }
    }
    if (!bytesEqual(h, this.root)) return false;
    if (this.nodes.size > MAX_NODES) this.nodes.clear();
    for (let k = 0; k < steps.length; k++) {
      this.nodes.set(steps[k]!.sibling, new Uint8Array(proof[k]!)); // a copy: the caller's array may change
      this.nodes.set(steps[k]!.parent, computed[k]!);
    }
    return true;
  }

  private restIsProven(steps: readonly Step[], proof: readonly Uint8Array[], from: number): boolean {
    for (let k = from; k < steps.length; k++) {
      const known = this.nodes.get(steps[k]!.sibling);
      if (known === undefined || !bytesEqual(known, proof[k]!)) return false;
    }
    return true;
  }
}

interface Step {
  /** Range `start:end` of the proof's hash at this step. */
  sibling: string;
  siblingOnLeft: boolean;
  /** Range of the node this step computes. */
  parent: string;
}

const range = (start: number, end: number): string => `${start}:${end}`;

/**
 * The ranges along the path of leaf `index` to the root of a tree of `size` leaves, in the
 * order of the proof's hashes (the decomposition of transparency-dev/merkle: first the inner
 * part, where the leaf's path and the last leaf's differ, then the left siblings on the right
 * border). Undefined when the index is not a leaf. Plain arithmetic: indices reach 2^53.
 */
function pathOf(index: number, size: number): Step[] | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return undefined;
  const steps: Step[] = [];
  // Inner part: levels below the one where the leaf and the last leaf share an ancestor.
  let level = 0;
  let a = index; // the path node's index at `level`
  let last = size - 1;
  for (; a !== last; level++, a = Math.floor(a / 2), last = Math.floor(last / 2)) {
    const width = 2 ** level;
    const right = a % 2 === 0;
    const siblingStart = (right ? a + 1 : a - 1) * width;
    const parentStart = Math.floor(a / 2) * 2 * width;
    steps.push({
      sibling: range(siblingStart, Math.min(siblingStart + width, size)),
      siblingOnLeft: !right,
      parent: range(parentStart, Math.min(parentStart + 2 * width, size)),
    });
  }
  // Border part: the node now covers [a * 2^level, size); each set bit of `a` adds the full
  // subtree to its left.
  let start = a * 2 ** level;
  for (let m = a, l = level; m > 0; m = Math.floor(m / 2), l++) {
    if (m % 2 === 1) {
      const width = 2 ** l;
      steps.push({ sibling: range(start - width, start), siblingOnLeft: true, parent: range(start - width, size) });
      start -= width;
    }
  }
  return steps;
}
