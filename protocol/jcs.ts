import { utf8 } from './encoding.js';
import { ProtocolError } from './errors.js';

const MAX_DEPTH = 1000;

/** A key V8 orders before all others in JSON.stringify (an array index), whatever its insertion order. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/**
 * RFC 8785 JSON Canonicalization Scheme. Refuses, rather than silently changes, anything with no
 * single canonical form: non-finite numbers, lone surrogates, undefined, functions, bigint,
 * symbols, and objects that are not plain (Date, Map, class instances).
 *
 * Fast path: a copy with keys inserted in sorted order, serialised by the native JSON.stringify,
 * whose string escaping (RFC 8785 section 3.2.2.2) and ES2015 number form (section 3.2.2.3) are
 * exactly JCS's. V8 emits array-index keys ("0", "10") first regardless of insertion order, so
 * objects with such keys take the slower writer below.
 */
export function canonicalize(value: unknown): string {
  // Already in canonical key order (what this library's signers emit): serialise as is.
  if (isCanonicalOrder(value, 0)) return JSON.stringify(value);
  const copy = sortedCopy(value, 0);
  return copy === INDEX_KEYS ? write(value, 0) : JSON.stringify(copy);
}

/** UTF-8 bytes of the canonical form: what is hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

const INDEX_KEYS = Symbol('array-index keys');

function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new ProtocolError('LONE_SURROGATE', 'string contains a lone surrogate');
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new ProtocolError('NOT_CANONICALIZABLE', `number ${value} has no JSON form`);
      return value;
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) throw new ProtocolError('TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`);
      if (Array.isArray(value)) {
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const v = sortedCopy(value[i], depth + 1);
          if (v === INDEX_KEYS) return INDEX_KEYS;
          out[i] = v;
        }
        return out;
      }
      checkPlain(value);
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        if (!key.isWellFormed()) throw new ProtocolError('LONE_SURROGATE', 'key contains a lone surrogate');
        if (ARRAY_INDEX.test(key) || key === '__proto__') return INDEX_KEYS;
        const v = sortedCopy(obj[key], depth + 1);
        if (v === INDEX_KEYS) return INDEX_KEYS;
        out[key] = v;
      }
      return out;
    }
    default:
      throw new ProtocolError('NOT_CANONICALIZABLE', `a ${typeof value} value has no JSON form`);
  }
}

/**
 * True when JSON.stringify(value) is already JCS: every object's keys are in strictly increasing
 * code-unit order, none is an array index or "__proto__", and every scalar is one JCS accepts.
 * False sends the value down the copying path, which also produces the precise error.
 */
function isCanonicalOrder(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed();
    case 'number':
      return Number.isFinite(value);
    case 'boolean':
      return true;
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isCanonicalOrder(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      let previous: string | undefined;
      for (const key in value) {
        if ((previous !== undefined && !(previous < key)) || !key.isWellFormed() || ARRAY_INDEX.test(key) || key === '__proto__')
          return false;
        if (!isCanonicalOrder((value as Record<string, unknown>)[key], depth + 1)) return false;
        previous = key;
      }
      return true;
    }
    default:
      return false;
  }
}

function checkPlain(value: object): void {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    throw new ProtocolError('NOT_CANONICALIZABLE', 'only plain objects can be canonicalised');
}

/** The general writer: any key order V8 might impose is irrelevant here. */
function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new ProtocolError('LONE_SURROGATE', 'string contains a lone surrogate');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new ProtocolError('NOT_CANONICALIZABLE', `number ${value} has no JSON form`);
      // ES2015 Number-to-String, as RFC 8785 section 3.2.2.3 requires; -0 becomes "0".
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw new ProtocolError('TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`);
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += write(value[i], depth + 1);
        }
        return out + ']';
      }
      checkPlain(value);
      const obj = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is what RFC 8785 section 3.2.3 specifies.
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (i > 0) out += ',';
        out += write(key, depth) + ':' + write(obj[key], depth + 1);
      }
      return out + '}';
    }
    default:
      throw new ProtocolError('NOT_CANONICALIZABLE', `a ${typeof value} value has no JSON form`);
  }
}
