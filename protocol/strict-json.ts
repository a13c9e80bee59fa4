import type { JsonValue } from '@etdi/schemas';
import { fromUtf8 } from './encoding.js';
import { ProtocolError } from './errors.js';

export interface StrictJsonOptions {
  /** Largest accepted input, in bytes for byte input and UTF-16 units for text. Default 1 MiB. */
  maxBytes?: number;
  /** Deepest accepted nesting of objects and arrays. Default 64. */
  maxDepth?: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Parses I-JSON (RFC 7493) strictly, refusing what JSON.parse would silently accept but that
 * cannot be canonicalised unambiguously (RFC 8785 section 3.1):
 * duplicate object keys (DUPLICATE_KEY: parsers disagree on which one wins), lone surrogates
 * (LONE_SURROGATE), integers beyond 2^53 that a double cannot hold exactly and numbers that overflow to Infinity
 * (NUMBER_OUT_OF_RANGE), invalid UTF-8 and a byte order mark (INVALID_JSON).
 */
export function parseStrictJson(input: string | Uint8Array, options: StrictJsonOptions = {}): JsonValue {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  if (input.length > maxBytes) throw new ProtocolError('TOO_LARGE', `JSON document is larger than ${maxBytes} bytes`);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    // TextDecoder drops a leading BOM silently; the text form refuses it, so the bytes do too.
    if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf)
      throw new ProtocolError('INVALID_JSON', 'a byte order mark is not allowed (at offset 0)');
    try {
      text = fromUtf8(input);
    } catch (cause) {
      throw new ProtocolError('INVALID_JSON', 'JSON text is not valid UTF-8', { cause });
    }
  }
  const maxDepth = options.maxDepth ?? 64;
  return fastParse(text, maxDepth) ?? new Parser(text, maxDepth).parseDocument();
}

/**
 * The hot path: the native JSON.parse, then one walk over the result that proves the text held
 * nothing the strict parser would refuse. Returns undefined (and the strict parser decides, with
 * a precise error) whenever that proof fails, so it is never more lenient than the parser.
 * Duplicate keys leave no trace in JSON.parse's result; walkParsed proves their absence.
 */
function fastParse(text: string, maxDepth: number): JsonValue | undefined {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  const tally = { keys: 0, colons: 0 };
  if (!walkParsed(value, 0, maxDepth, tally)) return undefined;
  const escapedColons = text.includes('\\u003') ? (text.match(/\\u003a/gi)?.length ?? 0) : 0;
  if (countColons(text) - (tally.colons - escapedColons) !== tally.keys) return undefined;
  return value;
}

/**
 * The proof that JSON.parse dropped no duplicate key, and read no number or string the strict
 * parser refuses. Duplicates are counted through the `:` characters: outside
 * strings, every ':' in JSON text follows exactly one key. With R the ':' characters in the
 * text, S those inside the parsed strings and E the `\u003a` sequences in the text, a text
 * without duplicate keys has R - (S - E) = K, the number of keys parsed. A duplicate drops a
 * key, and with it its value's strings, from the result: R - (S - E) then exceeds K.
 */
function walkParsed(v: JsonValue, depth: number, maxDepth: number, tally: { keys: number; colons: number }): boolean {
  if (typeof v === 'string') {
    if (!v.isWellFormed()) return false;
    if (v.includes(':')) tally.colons += countColons(v);
    return true;
  }
  // Integers beyond 2^53 (and every double that large is one) go to the parser, which reads the literal.
  if (typeof v === 'number') return Number.isSafeInteger(v) || (Number.isFinite(v) && !Number.isInteger(v));
  if (v === null || typeof v !== 'object') return true;
  if (depth >= maxDepth) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!walkParsed(v[i]!, depth + 1, maxDepth, tally)) return false;
    return true;
  }
  for (const key in v) {
    tally.keys++;
    if (!walkParsed(key, depth, maxDepth, tally) || !walkParsed(v[key]!, depth + 1, maxDepth, tally)) return false;
  }
  return true;
}

function countColons(s: string): number {
  let n = 0;
  for (let i = s.indexOf(':'); i !== -1; i = s.indexOf(':', i + 1)) n++;
  return n;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): JsonValue {
    if (this.text.charCodeAt(0) === 0xfeff) this.fail('INVALID_JSON', 'a byte order mark is not allowed');
    this.skipWs();
    const value = this.parseValue(0);
    this.skipWs();
    if (this.pos !== this.text.length) this.fail('INVALID_JSON', 'unexpected text after the JSON value');
    return value;
  }

  private fail(code: 'INVALID_JSON' | 'DUPLICATE_KEY' | 'LONE_SURROGATE' | 'NUMBER_OUT_OF_RANGE' | 'TOO_DEEP', message: string): never {
    throw new ProtocolError(code, `${message} (at offset ${this.pos})`);
  }

  private skipWs(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private parseValue(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.parseObject(depth + 1);
      case 0x5b: // [
        return this.parseArray(depth + 1);
      case 0x22: // "
        return this.parseString();
      case 0x74:
        return this.literal('true', true);
      case 0x66:
        return this.literal('false', false);
      case 0x6e:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail('INVALID_JSON', Number.isNaN(c) ? 'unexpected end of JSON' : 'unexpected character');
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('INVALID_JSON', 'invalid literal');
    this.pos += word.length;
    return value;
  }

  private parseObject(depth: number): JsonValue {
    if (depth > this.maxDepth) this.fail('TOO_DEEP', `nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const obj: { [key: string]: JsonValue } = {};
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('INVALID_JSON', 'expected a string key');
      const key = this.parseString();
      if (Object.hasOwn(obj, key)) this.fail('DUPLICATE_KEY', `duplicate key ${JSON.stringify(key)}`);
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail('INVALID_JSON', "expected ':'");
      this.pos++;
      this.skipWs();
      const value = this.parseValue(depth);
      // "__proto__" is an ordinary key in JSON; a plain assignment would set the prototype.
      if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      else obj[key] = value;
      this.skipWs();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return obj;
      if (c !== 0x2c) this.fail('INVALID_JSON', "expected ',' or '}'");
      this.skipWs();
    }
  }

  private parseArray(depth: number): JsonValue {
    if (depth > this.maxDepth) this.fail('TOO_DEEP', `nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const arr: JsonValue[] = [];
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.parseValue(depth));
      this.skipWs();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return arr;
      if (c !== 0x2c) this.fail('INVALID_JSON', "expected ',' or ']'");
      this.skipWs();
    }
  }

  private parseString(): string {
    const t = this.text;
    let p = ++this.pos;
    let out = '';
    let start = p;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) break;
      if (Number.isNaN(c)) this.fail('INVALID_JSON', 'unterminated string');
      if (c < 0x20) {
        this.pos = p;
        this.fail('INVALID_JSON', 'control character in string');
      }
      if (c === 0x5c) {
        out += t.slice(start, p);
        const e = t.charCodeAt(p + 1);
        p += 2;
        switch (e) {
          case 0x22: out += '"'; break;
          case 0x5c: out += '\\'; break;
          case 0x2f: out += '/'; break;
          case 0x62: out += '\b'; break;
          case 0x66: out += '\f'; break;
          case 0x6e: out += '\n'; break;
          case 0x72: out += '\r'; break;
          case 0x74: out += '\t'; break;
          case 0x75: {
            const hex = t.slice(p, p + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.pos = p;
              this.fail('INVALID_JSON', 'invalid \\u escape');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            p += 4;
            break;
          }
          default:
            this.pos = p;
            this.fail('INVALID_JSON', 'invalid escape');
        }
        start = p;
        continue;
      }
      p++;
    }
    out += t.slice(start, p);
    this.pos = p + 1;
    if (!out.isWellFormed()) this.fail('LONE_SURROGATE', 'string contains a lone surrogate');
    return out;
  }

  private parseNumber(): number {
    const t = this.text;
    const start = this.pos;
    let p = start;
    let integer = true;
    if (t.charCodeAt(p) === 0x2d) p++;
    const first = t.charCodeAt(p);
    if (first === 0x30) p++;
    else if (first >= 0x31 && first <= 0x39) while (isDigit(t.charCodeAt(p))) p++;
    else this.fail('INVALID_JSON', 'invalid number');
    if (t.charCodeAt(p) === 0x2e) {
      integer = false;
      p++;
      if (!isDigit(t.charCodeAt(p))) this.fail('INVALID_JSON', 'invalid number');
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      p++;
      const s = t.charCodeAt(p);
      if (s === 0x2b || s === 0x2d) p++;
      if (!isDigit(t.charCodeAt(p))) this.fail('INVALID_JSON', 'invalid number');
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const value = Number(t.slice(start, p));
    if (!Number.isFinite(value)) this.fail('NUMBER_OUT_OF_RANGE', 'number overflows IEEE 754 double');
    // I-JSON: an integer beyond 2^53 that names neither a double's exact value nor its shortest
    // form (9007199254740993 becomes ...992) would silently change value. Integers RFC 8785
    // itself writes (1e20 as 100000000000000000000, 36093630381789210) are kept.
    if (integer && (value > MAX_SAFE || value < -MAX_SAFE)) {
      const literal = t.slice(start, p);
      if (String(value) !== literal && BigInt(literal) !== BigInt(value))
        this.fail('NUMBER_OUT_OF_RANGE', 'integer beyond 2^53 cannot be represented exactly (I-JSON)');
    }
    this.pos = p;
    return value;
  }
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
