import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, parseStrictJson, ProtocolError } from '../../protocol/index.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';

const vectors = readdirSync(fixturePath('jcs/input')).filter((f) => f.endsWith('.json'));

describe('canonicalize (RFC 8785)', () => {
  it('has the six reference vectors', () => {
    expect(vectors).toHaveLength(6);
  });

  it.each(vectors)('canonicalises %s byte for byte', (file) => {
    const input = parseStrictJson(readFixture(`jcs/input/${file}`));
    const expected = readFixture(`jcs/output/${file}`);
    expect(Buffer.from(canonicalize(input), 'utf8')).toEqual(Buffer.from(expected.replace(/\n$/, ''), 'utf8'));
  });

  describe('ES6 number serialisation', () => {
    it.each([
      ['-0', '0'],
      ['1e21', '1e+21'],
      ['1e20', '100000000000000000000'],
      ['5e-324', '5e-324'],
      ['0.000001', '0.000001'],
      ['1e-7', '1e-7'],
      ['9007199254740991', '9007199254740991'],
      ['-9007199254740991', '-9007199254740991'],
      ['1.7976931348623157e308', '1.7976931348623157e+308'],
      ['0.1', '0.1'],
      ['123.456e2', '12345.6'],
    ])('%s canonicalises to %s', (text, expected) => {
      expect(canonicalize(parseStrictJson(text))).toBe(expected);
    });

    it('refuses the integer 9007199254740993, which a double cannot hold (I-JSON)', () => {
      expect(() => parseStrictJson('9007199254740993')).toThrowError(
        expect.objectContaining({ name: 'ProtocolError', code: 'NUMBER_OUT_OF_RANGE' }),
      );
    });

    it.each([NaN, Infinity, -Infinity])('refuses the non-finite number %s', (n) => {
      expect(() => canonicalize({ n })).toThrowError(expect.objectContaining({ code: 'NOT_CANONICALIZABLE' }));
    });

    it('refuses a literal that overflows to Infinity', () => {
      expect(() => parseStrictJson('1e400')).toThrowError(expect.objectContaining({ code: 'NUMBER_OUT_OF_RANGE' }));
    });
  });

  it('orders array-index-like keys by code unit, not numerically as JSON.stringify would', () => {
    expect(canonicalize({ b: 1, 10: 2, 9: 3, a: { 2: 0, 1: 0 } })).toBe('{"10":2,"9":3,"a":{"1":0,"2":0},"b":1}');
  });

  it('keeps a "__proto__" key as data', () => {
    expect(canonicalize(parseStrictJson('{"z":1,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"z":1}');
  });

  describe('when the value has no canonical form', () => {
    it.each([
      ['a lone high surrogate', { s: '\uD800' }, 'LONE_SURROGATE'],
      ['a lone low surrogate in a key', { ['\uDC00']: 1 }, 'LONE_SURROGATE'],
      ['undefined', { u: undefined }, 'NOT_CANONICALIZABLE'],
      ['a bigint', { b: 1n }, 'NOT_CANONICALIZABLE'],
      ['a Date', { d: new Date(0) }, 'NOT_CANONICALIZABLE'],
      ['a function', { f: () => 1 }, 'NOT_CANONICALIZABLE'],
    ])('refuses %s', (_name, value, code) => {
      expect(() => canonicalize(value)).toThrowError(ProtocolError);
      expect(() => canonicalize(value)).toThrowError(expect.objectContaining({ code }));
    });
  });

  describe('properties', () => {
    const json = fc.jsonValue({ noUnicodeString: false });
    it('is idempotent: canonicalize(parse(canonicalize(x))) === canonicalize(x)', () => {
      fc.assert(
        fc.property(json, (v) => {
          const once = canonicalize(v);
          expect(canonicalize(parseStrictJson(once))).toBe(once);
        }),
        { numRuns: 300 },
      );
    });

    it('does not depend on key order', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
          const reversed = Object.fromEntries(Object.entries(obj).reverse());
          expect(canonicalize(reversed)).toBe(canonicalize(obj));
        }),
        { numRuns: 300 },
      );
    });

    it('agrees with JSON.parse on every value it accepts', () => {
      fc.assert(
        fc.property(json, (v) => {
          const text = JSON.stringify(v);
          expect(parseStrictJson(text)).toStrictEqual(JSON.parse(text));
        }),
        { numRuns: 300 },
      );
    });
  });
});
