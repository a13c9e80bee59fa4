import { z } from 'zod';

/** A JSON value as parsed from I-JSON text (RFC 7493). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A JSON object whose members are not looked into (JSON Schema keywords, `_meta`). The same
 * acceptance as `z.record(z.string(), z.unknown())` for parsed JSON (its keys are always strings),
 * without the copy of every member a record makes: a third of a definition's schema check. The
 * value is returned as received.
 */
export const OpaqueJsonObjectSchema = z
  .custom<Record<string, unknown>>(
    (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
    'expected an object',
  )
  .meta({ type: 'object', additionalProperties: {} });

export interface JsonShape {
  /** Deepest nesting of objects/arrays (a scalar has depth 0). */
  depth: number;
  /** Longest string, value or key, in UTF-16 units. */
  longestString: number;
}

/**
 * Depth and longest string of a JSON value in one walk. The walk stops descending past
 * `stopAt` levels, so hostile nesting cannot overflow the stack: the result then reports
 * a depth above the limit, which is all a caller needs to refuse it.
 */
export function jsonShape(value: unknown, stopAt = 256): JsonShape {
  const shape: JsonShape = { depth: 0, longestString: 0 };
  walk(value, 0, stopAt, shape);
  return shape;
}

function walk(v: unknown, depth: number, stopAt: number, shape: JsonShape): void {
  if (typeof v === 'string') {
    if (v.length > shape.longestString) shape.longestString = v.length;
    return;
  }
  if (v === null || typeof v !== 'object') return;
  const d = depth + 1;
  if (d > shape.depth) shape.depth = d;
  if (d > stopAt) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) walk(v[i], d, stopAt, shape);
    return;
  }
  for (const key in v) {
    if (key.length > shape.longestString) shape.longestString = key.length;
    walk((v as Record<string, unknown>)[key], d, stopAt, shape);
  }
}
