// Checks that a store's transactions are serialised (contract.test.ts, postgres-store.test.ts).
import { expect } from 'vitest';
import type { Store } from '../../registry/store/types.js';

/** A promise opened by hand: `await g.promise` waits until `g.open()`. */
export const gate = (): { promise: Promise<void>; open(): void } => {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
};

/**
 * Starts a transaction on `a` that appends a leaf and waits, then one on `b`: the second must not
 * run until the first commits, and must then append at the next index. Without the lock both
 * would read the same size and append the same index.
 */
export async function expectSerialised(a: Store, b: Store): Promise<void> {
  const size = await a.tree.size();
  const firstInside = gate();
  const releaseFirst = gate();
  let secondEntered = false;
  const seen: number[] = [];
  const first = a.transaction(async (tx) => {
    const n = await tx.tree.size();
    seen.push(n);
    await tx.tree.insertLeaf(n, new Uint8Array([1]));
    firstInside.open();
    await releaseFirst.promise;
  });
  await firstInside.promise;
  const second = b.transaction(async (tx) => {
    secondEntered = true;
    const n = await tx.tree.size();
    seen.push(n);
    await tx.tree.insertLeaf(n, new Uint8Array([2]));
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(secondEntered).toBe(false);
  releaseFirst.open();
  await Promise.all([first, second]);
  expect(secondEntered).toBe(true);
  expect(seen).toStrictEqual([size, size + 1]);
  expect((await a.tree.entries(size, size + 2)).map((e) => Array.from(e.data))).toStrictEqual([[1], [2]]);
}
