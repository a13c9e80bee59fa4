import { utf8 } from './encoding.js';
import { ProtocolError } from './errors.js';

const MAX_DEPTH = 1000;

/**
 * RFC 8785 JSON Canonicalization Scheme. Refuses, rather than silently changes, anything with no
 * single canonical form: non-finite numbers, lone surrogates, undefined, functions, bigint,
 * symbols, and objects that are not plain (Date, Map, class instances).
 */
export function canonicalize(value: unknown): string {
  return write(value, 0);
}

/** UTF-8 bytes of the canonical form: what is hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(write(value, 0));
}

function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new ProtocolError('LONE_SURROGATE', 'string contains a lone surrogate');
      // JSON.stringify escapes exactly as RFC 8785 section 3.2.2.2 requires.
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
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw new ProtocolError('NOT_CANONICALIZABLE', 'only plain objects can be canonicalised');
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
