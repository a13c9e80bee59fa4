/** Byte encodings used on the wire. Portable: no Buffer, so the verifier runs in browsers too. */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  DECODE[B64.charCodeAt(i)] = i;
  DECODE[B64URL.charCodeAt(i)] = i;
}

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

/** Encodes `text` as UTF-8 into `target` (which must have room: 3 bytes per UTF-16 unit); returns the bytes written. */
export const utf8Into = (text: string, target: Uint8Array): number => encoder.encodeInto(text, target).written;

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
