/** A JSON value as parsed from I-JSON text (RFC 7493). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Depth of nested objects/arrays (a scalar has depth 0). Iterative: hostile depth cannot overflow the stack. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v !== null && typeof v === 'object') {
      const depth = d + 1;
      if (depth > max) max = depth;
      for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth]);
    }
  }
  return max;
}

/** Longest string (value or key) anywhere inside `value`. */
export function longestString(value: unknown): number {
  let max = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length > max) max = v.length;
    } else if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) stack.push(...v);
      else
        for (const [k, child] of Object.entries(v)) {
          if (k.length > max) max = k.length;
          stack.push(child);
        }
    }
  }
  return max;
}

