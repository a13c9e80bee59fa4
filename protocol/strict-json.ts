import type { JsonShape, JsonValue } from '@etdi/schemas';
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
  return parseStrictJsonText(input, options).value;
}

/** What {@link parseStrictJsonText} found: the value, the text it was read from, and its form. */
export interface StrictJsonText {
  value: JsonValue;
  /** The input as text (decoded from UTF-8 when bytes were given). */
  text: string;
  /**
   * True only when `text` is, character for character, the RFC 8785 (JCS) form of `value`:
   * then any member's canonical form is a slice of `text` and need not be serialised again.
   * False says nothing either way (the caller canonicalises the value as usual).
   */
  canonical: boolean;
  /**
   * True only when `text` is, character for character, `JSON.stringify(value)` (the keys in
   * any order). Implied by `canonical`. Then a member whose value is in canonical key order has
   * its JCS form as its slice of `text`.
   */
  stringified: boolean;
  /**
   * When the fast path measured it on the way (lexically canonical text): the deepest nesting
   * and longest string (key or value) of the whole value, as jsonShape counts them.
   */
  shape?: JsonShape;
}

/**
 * {@link parseStrictJson}, also telling whether the text was already canonical (RFC 8785). The
 * same acceptance and errors as parseStrictJson; the answer comes from the walk that proves the
 * strict parse, so it costs one regular-expression pass over the text and no second walk.
 */
export function parseStrictJsonText(input: string | Uint8Array, options: StrictJsonOptions = {}): StrictJsonText {
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
  return fastParse(text, maxDepth) ?? { value: new Parser(text, maxDepth).parseDocument(), text, canonical: false, stringified: false };
}

/**
 * Canonical text, lexically (RFC 8785 section 3.2.2), less the escapes (escapeOverhead checks
 * those): no whitespace; integers written as ES2015 writes them (no -0, no leading zeros, no
 * fraction, no exponent; at most 16 digits, the walk checks the value is a safe integer).
 * Fractions and exponents are left to the general path: proving their shortest form lexically
 * is not worth it. Separators, then a value, repeated: each token has one way to match
 * (numbers end before a digit, a value never starts with a separator), so a failing match
 * stays linear.
 */
const CANONICAL_TOKENS =
  /^(?:[{}[\]:,]*(?:"[^"\\]*(?:\\.[^"\\]*)*"|true|false|null|0(?![0-9])|-?[1-9][0-9]{0,15}(?![0-9])))*[{}[\]:,]*$/;

/**
 * The hot path: the native JSON.parse, then one walk over the result that proves the text held
 * nothing the strict parser would refuse. Returns undefined (and the strict parser decides, with
 * a precise error) whenever that proof fails, so it is never more lenient than the parser.
 * Duplicate keys leave no trace in JSON.parse's result, so the walk proves their absence by
 * counting (see walkLexical and walkParsed). The walk over text that is JSON.stringify's (the
 * common case) also tells the text's form, and measures its shape.
 */
function fastParse(text: string, maxDepth: number): StrictJsonText | undefined {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  const escapes = text.isWellFormed() ? escapeOverhead(text) : -1;
  let tokens: boolean | undefined;
  if (escapes >= 0) {
    // The length proof of walkLexical, on its own for most texts; the token regex only when a
    // number could have been written shorter than JSON.stringify writes it (see LexicalTally.round).
    const tally: LexicalTally = { length: 0, plain: true, ordered: true, depth: 0, longestString: 0, round: false };
    if (walkLexical(value, 0, maxDepth, tally) && tally.length + escapes === text.length && (!tally.round || (tokens = testCanonicalTokens(text))))
      return {
        value,
        text,
        canonical: tally.plain && tally.ordered,
        stringified: tally.plain,
        shape: { depth: tally.depth, longestString: tally.longestString },
      };
    // Lexically canonical text that fails the count holds a duplicate key or a number only the
    // parser reads exactly: the parser decides, with a precise error.
    if (tokens ?? testCanonicalTokens(text)) return undefined;
  }
  const tally = { keys: 0, colons: 0 };
  if (!walkParsed(value, 0, maxDepth, tally)) return undefined;
  const escapedColons = text.includes('\\u003') ? (text.match(/\\u003a/gi)?.length ?? 0) : 0;
  if (countColons(text) - (tally.colons - escapedColons) !== tally.keys) return undefined;
  return { value, text, canonical: false, stringified: false };
}

function testCanonicalTokens(text: string): boolean {
  try {
    return CANONICAL_TOKENS.test(text);
  } catch {
    return false; // the engine's backtracking stack ran out (a huge input): not proven, not refused
  }
}

interface LexicalTally {
  /** Length of JSON.stringify(value) less the escapes' extra characters. */
  length: number;
  /** No key so far was an array index or "__proto__". */
  plain: boolean;
  /** Every object so far had strictly increasing keys. */
  ordered: boolean;
  /** Deepest nesting and longest string so far, as jsonShape counts them. */
  depth: number;
  longestString: number;
  /**
   * Some integer so far ends in two or more zeros (100, -2500): only such an integer has a
   * spelling with an exponent no longer than its own (1e2), which could make up for whitespace
   * in the length count; then the token regex has to prove the text canonical.
   */
  round: boolean;
}

/**
 * The length proof, for text whose escapes are all ones JSON.stringify writes (escapeOverhead)
 * and that holds no lone surrogate. The walk adds up the length JSON.stringify(value) would
 * have with every escape counted as one character: each string's length and its quotes, each
 * safe integer's canonical digits, literals, brackets, braces, colons and commas (any other
 * number fails the walk: the general path takes it). Each escape in the text stands for one
 * character (`\n`: one more, `\u00xx`: five more; escapeOverhead counts them). Compared with
 * the text, every difference makes the text longer, never shorter:
 * - strings, literals and separators are spelled exactly so (JSON.parse accepted the text and
 *   escapeOverhead the escapes), so whitespace between tokens only adds;
 * - a duplicate key leaves only one member in the result: the dropped members (at least
 *   `,"":0`, less their escapes' extra characters) only add;
 * - an integer spelled otherwise is longer (-0, 1.0, 10e-1, 0.99999999999999999e1), except with
 *   an exponent: a spelling with an exponent has at least the value's significant digits plus
 *   two ("e" and a digit), so it is no longer than the canonical digits only when two or more
 *   of those are trailing zeros (1e2 for 100). The walk marks those (`round`) and the caller
 *   then has CANONICAL_TOKENS check the text lexically, as it did for every text before.
 * So when the text has exactly the counted length (and no integer is round, or the regex
 * passed), it holds no duplicate and each token is the one JSON.stringify writes for its value.
 *
 * Form: objects are enumerated (and so stringified) in the text's order, except for
 * array-index keys, which V8 lists first in numeric order. Without those (and without
 * "__proto__", which the canonicaliser's own fast path avoids too) the text is
 * JSON.stringify(value). If moreover the keys strictly increase in every object, it is JCS(value).
 */
function walkLexical(v: JsonValue, depth: number, maxDepth: number, tally: LexicalTally): boolean {
  if (typeof v === 'string') {
    tally.length += v.length + 2;
    if (v.length > tally.longestString) tally.longestString = v.length;
    return true;
  }
  if (typeof v === 'number') {
    // A fraction goes to the general path; beyond 2^53 (16 digits may be) the parser reads the literal.
    if (!Number.isSafeInteger(v)) return false;
    const a = v < 0 ? -v : v;
    let digits = 1;
    while (digits < 16 && a >= POWERS_OF_TEN[digits]!) digits++;
    tally.length += v < 0 ? digits + 1 : digits; // -0 counts as "0", which JSON.stringify writes
    if (a >= 100 && a % 100 === 0) tally.round = true;
    return true;
  }
  if (v === null || typeof v === 'boolean') {
    tally.length += v === false ? 5 : 4;
    return true;
  }
  if (depth >= maxDepth) return false;
  if (depth >= tally.depth) tally.depth = depth + 1;
  if (Array.isArray(v)) {
    const n = v.length;
    tally.length += n === 0 ? 2 : n + 1;
    for (let i = 0; i < n; i++) if (!walkLexical(v[i]!, depth + 1, maxDepth, tally)) return false;
    return true;
  }
  let previous: string | undefined;
  let n = 0;
  for (const key in v) {
    n++;
    const c = key.charCodeAt(0);
    if ((c >= 0x30 && c <= 0x39 && ARRAY_INDEX.test(key)) || (c === 0x5f && key === '__proto__')) tally.plain = false;
    else if (previous !== undefined && !(previous < key)) tally.ordered = false;
    previous = key;
    tally.length += key.length + 3;
    if (key.length > tally.longestString) tally.longestString = key.length;
    if (!walkLexical(v[key]!, depth + 1, maxDepth, tally)) return false;
  }
  tally.length += n === 0 ? 2 : n + 1;
  return true;
}

/**
 * Extra characters of the escapes in valid JSON text (every `\\` outside a string is a syntax
 * error, so each one starts an escape: a backslash and one letter stand for one character, `\\u`
 * and four hex digits for one UTF-16 unit), or -1 when an escape is not the one JSON.stringify
 * writes: only \\" \\\\ \\b \\f \\n \\r \\t, and \\u00 plus two lower-case hex digits for the
 * other controls (no \\/, no \\u0041, no escaped surrogate, no \\u000A).
 */
function escapeOverhead(text: string): number {
  let extra = 0;
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i)) {
    const c = text.charCodeAt(i + 1);
    if (c === 0x75) {
      if (!isCanonicalUEscape(text, i + 2)) return -1;
      extra += 5;
      i += 6;
    } else if (c === 0x22 || c === 0x5c || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) {
      extra += 1;
      i += 2;
    } else return -1;
  }
  return extra;
}

/** Whether the four hex digits at `at` are those of a `\u` escape JSON.stringify writes: 00 then 0[0-7bef] or 1[0-9a-f]. */
function isCanonicalUEscape(text: string, at: number): boolean {
  if (text.charCodeAt(at) !== 0x30 || text.charCodeAt(at + 1) !== 0x30) return false;
  const high = text.charCodeAt(at + 2);
  const low = text.charCodeAt(at + 3);
  const digit = low >= 0x30 && low <= 0x39;
  if (high === 0x31) return digit || (low >= 0x61 && low <= 0x66); // \u0010-\u001f
  // \u0000-\u0007, \u000b, \u000e, \u000f (\b \t \n \f \r have short forms)
  return high === 0x30 && ((digit && low <= 0x37) || low === 0x62 || low === 0x65 || low === 0x66);
}

/**
 * The walk over any other text. Duplicates are counted through the `:` characters: outside
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

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** A key V8 enumerates before all others (an array index), whatever its place in the text. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

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
