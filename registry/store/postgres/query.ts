/**
 * A statement: its SQL, or its SQL with a name. A named statement is parsed and planned once per
 * connection and then only executed: for the short hot reads (a proof's nodes, a tool, a
 * version) planning costs more than executing (tree.nodes of 40 coordinates at a million leaves:
 * about 0.24 ms prepared against 0.67 ms re-planned each time, measured). The name must be
 * unique to the text. A connection pooler in transaction mode must support protocol-level
 * prepared statements (PgBouncer 1.21+, max_prepared_statements).
 */
export type Statement = string | { readonly name: string; readonly text: string };

export const named = (name: string, text: string): Statement => ({ name: `etdi:${name}`, text });

/** node-postgres's form of a statement with its values. */
export function toQueryConfig(statement: Statement, values: readonly unknown[] | undefined): { name?: string; text: string; values?: unknown[] } {
  const config = typeof statement === 'string' ? { text: statement } : { name: statement.name, text: statement.text };
  return values === undefined ? config : { ...config, values: values as unknown[] };
}

/** Runs one statement and returns its rows: on the pool (committed state) or on a transaction's connection. */
export type Query = <R extends object = Record<string, unknown>>(statement: Statement, values?: readonly unknown[]) => Promise<R[]>;

/**
 * A plain Uint8Array view of a Buffer node-postgres returned (no copy). Callers compare and hash
 * bytes; a Buffer's extra methods and its different `slice` semantics must not leak into them.
 */
export const asBytes = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
