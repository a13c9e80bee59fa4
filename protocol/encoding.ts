/** Byte encodings used on the wire. Portable: no Buffer, so the verifier runs in browsers too. */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Character code -> 6-bit value for one alphabet, -1 for every other code below 128. */
function decodeTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const DECODE_STD = decodeTable(B64);
const DECODE_URL = decodeTable(B64URL);

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

/**
 * Strict decoder: refuses characters outside the alphabet, wrong padding and non-zero trailing
 * bits, so that every byte string has exactly one accepted encoding (no signature malleability
 * through the encoding).
 */
function decode(text: string, url: boolean): Uint8Array {
  let end = text.length;
  if (!url) {
    if (end % 4 !== 0) throw new TypeError('base64: length is not a multiple of 4');
    if (text.endsWith('==')) end -= 2;
    else if (text.endsWith('=')) end -= 1;
  }
  const rest = end % 4;
  if (rest === 1) throw new TypeError('base64: invalid length');
  // Each alphabet has its own table: base64 refuses "-" and "_", base64url "+", "/" and "=".
  const table = url ? DECODE_URL : DECODE_STD;
  const value = (i: number): number => {
    const c = text.charCodeAt(i);
    return c < 128 ? table[c]! : -1;
  };
  const out = new Uint8Array((end * 3) >> 2);
  const full = end - rest;
  let o = 0;
  // Four characters, three bytes at a time; a negative value in any of them is a bad character.
  for (let i = 0; i < full; i += 4) {
    const n = (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6) | value(i + 3);
    if (n < 0) throw invalidCharacter(text, i, table);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest !== 0) {
    const n = (value(full) << 12) | (value(full + 1) << 6) | (rest === 3 ? value(full + 2) : 0);
    if (n < 0) throw invalidCharacter(text, full, table);
    // The bits past the last whole byte must be zero: else two encodings would give one byte string.
    if ((rest === 2 ? n & 0x3c0 : n & 0x3) !== 0) throw new TypeError('base64: non-zero trailing bits');
    out[o++] = n >> 10;
    if (rest === 3) out[o++] = (n >> 2) & 0xff;
  }
  return out;
}

function invalidCharacter(text: string, from: number, table: Int8Array): TypeError {
  let i = from;
  while (i < text.length && text.charCodeAt(i) < 128 && table[text.charCodeAt(i)]! >= 0) i++;
  return new TypeError(`base64: invalid character at ${i}`);
}

export const toBase64 = (bytes: Uint8Array): string => encode(bytes, B64, true);
export const toBase64Url = (bytes: Uint8Array): string => encode(bytes, B64URL, false);
export const fromBase64 = (text: string): Uint8Array => decode(text, false);
export const fromBase64Url = (text: string): Uint8Array => decode(text, true);

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('hex: invalid input');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * UTF-8 bytes of `text`. ASCII text (all of a canonical manifest, as a rule) is encoded into a
 * buffer of exactly its length: half the cost of `encode`, which sizes and copies its own.
 */
export function utf8(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  // Every non-ASCII unit needs more than one byte, so it cannot all fit: encode() sizes it then.
  return encoder.encodeInto(text, out).read === text.length ? out : encoder.encode(text);
}

/** Decodes UTF-8, refusing invalid sequences rather than replacing them with U+FFFD. */
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
