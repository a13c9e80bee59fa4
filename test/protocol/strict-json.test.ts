import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStrictJson, ProtocolError } from '../../protocol/index.js';

describe('parseStrictJson', () => {
  describe('when the text cannot be canonicalised unambiguously', () => {
    it.each([
      ['duplicate keys (parsers disagree on which wins)', '{"a":1,"a":2}', 'DUPLICATE_KEY'],
      ['duplicate keys spelt with escapes', '{"a":1,"\\u0061":2}', 'DUPLICATE_KEY'],
      ['duplicate keys deep inside', '{"x":[{"name":"ok","name":"evil"}]}', 'DUPLICATE_KEY'],
      ['an escaped lone high surrogate', '"\\ud800"', 'LONE_SURROGATE'],
      ['an escaped lone low surrogate', '{"k":"\\udc00x"}', 'LONE_SURROGATE'],
      ['a raw lone surrogate', '"\uD800"', 'LONE_SURROGATE'],
      ['an integer beyond 2^53', '{"n":9007199254740993}', 'NUMBER_OUT_OF_RANGE'],
      ['a negative integer beyond 2^53', '-9007199254740993', 'NUMBER_OUT_OF_RANGE'],
      ['a number overflowing to Infinity', '[1e999]', 'NUMBER_OUT_OF_RANGE'],
      ['a byte order mark', '\uFEFF{}', 'INVALID_JSON'],
      ['trailing commas', '[1,]', 'INVALID_JSON'],
      ['leading zeros', '01', 'INVALID_JSON'],
      ['NaN', 'NaN', 'INVALID_JSON'],
      ['single quotes', "{'a':1}", 'INVALID_JSON'],
      ['a raw control character', '"a\u0001b"', 'INVALID_JSON'],
      ['two documents', '{} {}', 'INVALID_JSON'],
      ['an empty text', '', 'INVALID_JSON'],
      ['a comment', '{/*x*/}', 'INVALID_JSON'],
      // The fast path counts ':' to see dropped keys; these try to balance the count.
      ['a duplicate balanced by an escaped colon', '{"a":"\\u003a","a":"x"}', 'DUPLICATE_KEY'],
      ['a duplicate balanced by colons in the kept value', '{"a":1,"a":":"}', 'DUPLICATE_KEY'],
      ['a duplicate whose key holds a colon', '{"a:b":1,"a:b":2}', 'DUPLICATE_KEY'],
      ['a duplicate "__proto__"', '{"__proto__":1,"__proto__":2}', 'DUPLICATE_KEY'],
    ])('refuses %s', (_name, text, code) => {
      expect(() => parseStrictJson(text)).toThrowError(ProtocolError);
      expect(() => parseStrictJson(text)).toThrowError(expect.objectContaining({ code }));
    });

    it('refuses a byte order mark in bytes, as in text (TextDecoder would drop it silently)', () => {
      expect(() => parseStrictJson(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toThrowError(
        expect.objectContaining({ name: 'ProtocolError', code: 'INVALID_JSON' }),
      );
    });

    it('refuses invalid UTF-8 bytes instead of replacing them', () => {
      expect(() => parseStrictJson(new Uint8Array([0x22, 0xff, 0x22]))).toThrowError(
        expect.objectContaining({ code: 'INVALID_JSON' }),
      );
    });

    it('refuses nesting deeper than the limit without overflowing the stack', () => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      expect(() => parseStrictJson(deep)).toThrowError(expect.objectContaining({ code: 'TOO_DEEP' }));
    });

    it('refuses a document larger than maxBytes before parsing it', () => {
      expect(() => parseStrictJson(`"${'a'.repeat(100)}"`, { maxBytes: 50 })).toThrowError(
        expect.objectContaining({ code: 'TOO_LARGE' }),
      );
    });
  });

  it('keeps "__proto__" as an own key instead of setting the prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses any document into which a duplicate key was injected', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), (obj, extra) => {
        const key = Object.keys(obj)[0]!;
        const text = `{${JSON.stringify(key)}:${JSON.stringify(extra)},${JSON.stringify(obj).slice(1)}`;
        expect(() => parseStrictJson(text)).toThrowError(expect.objectContaining({ code: 'DUPLICATE_KEY' }));
      }),
      { numRuns: 500 },
    );
  });

  it('accepts colons and escaped colons that are not keys', () => {
    expect(parseStrictJson('{"a":"x:\\u003a","b":["\\\\u003a"]}')).toEqual({ a: 'x::', b: ['\\u003a'] });
  });

  it('accepts well-formed surrogate pairs and escapes', () => {
    expect(parseStrictJson('"\\ud83d\\ude00 \\u00e9\\n"')).toBe('\u{1F600} é\n');
  });
});
