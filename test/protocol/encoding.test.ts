import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from '../../protocol/index.js';

/**
 * The strict decoder as it was before it decoded four characters at a time (one character per
 * step, padding and trailing bits checked the same way): the reference the faster one must
 * match, result for result and refusal for refusal.
 */
function referenceDecode(text: string, url: boolean): Uint8Array {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const DECODE = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) {
    DECODE[B64.charCodeAt(i)] = i;
    DECODE[B64URL.charCodeAt(i)] = i;
  }
  let end = text.length;
  if (!url) {
    if (end % 4 !== 0) throw new TypeError('base64: length is not a multiple of 4');
    if (text.endsWith('==')) end -= 2;
    else if (text.endsWith('=')) end -= 1;
  }
  if (end % 4 === 1) throw new TypeError('base64: invalid length');
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    const ok = v >= 0 && (url ? c !== 43 && c !== 47 : c !== 45 && c !== 95);
    if (!ok) throw new TypeError(`base64: invalid character at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new TypeError('base64: non-zero trailing bits');
  return out;
}

const outcome = (f: () => Uint8Array): Uint8Array | string => {
  try {
    return f();
  } catch (e) {
    return (e as Error).message;
  }
};

describe('base64 / base64url', () => {
  describe('when the text is an encoding', () => {
    it('round-trips any bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
          expect(fromBase64(toBase64(bytes))).toEqual(bytes);
          expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('when the text is anything', () => {
    // Alphabet characters of both kinds, padding, and a few outsiders, to reach every refusal.
    const chars = fc.constantFrom(...'AQgw/+-_=Bz09 .\u00e9\u0100'.split(''));
    it.each([
      ['base64', false],
      ['base64url', true],
    ])('%s decodes and refuses exactly as the one-character-at-a-time reference', (_n, url) => {
      fc.assert(
        fc.property(fc.array(chars, { maxLength: 14 }).map((a) => a.join('')), (text) => {
          const decode = url ? fromBase64Url : fromBase64;
          expect(outcome(() => decode(text))).toEqual(outcome(() => referenceDecode(text, url)));
        }),
        { numRuns: 3000 },
      );
    });
  });

  describe('when the text is not the one encoding of its bytes', () => {
    it.each([
      ['base64url with padding', () => fromBase64Url('AA==')],
      ['base64url with "+"', () => fromBase64Url('A+')],
      ['base64 with "_"', () => fromBase64('A_==')],
      ['non-zero trailing bits (2 characters)', () => fromBase64Url('AB')],
      ['non-zero trailing bits (3 characters)', () => fromBase64Url('AAB')],
      ['a length of 4n+1', () => fromBase64Url('AAAAA')],
      ['base64 without padding', () => fromBase64('AA')],
      ['a non-ASCII character', () => fromBase64Url('AAA\u00e9')],
      ['a 64-byte signature with one bad character', () => fromBase64Url('A'.repeat(85) + '=')],
    ])('refuses %s', (_n, decode) => {
      expect(decode).toThrowError(TypeError);
    });
  });
});
