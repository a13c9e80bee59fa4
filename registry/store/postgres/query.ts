/** Runs one statement and returns its rows: on the pool (committed state) or on a transaction's connection. */
export type Query = <R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]) => Promise<R[]>;

/**
 * A plain Uint8Array view of a Buffer node-postgres returned (no copy). Callers compare and hash
 * bytes; a Buffer's extra methods and its different `slice` semantics must not leak into them.
 */
export const asBytes = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
