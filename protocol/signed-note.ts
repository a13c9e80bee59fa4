import { defaultBackend, publicKeyOf, type Ed25519Backend } from './ed25519.js';
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from './encoding.js';
import { ProtocolError } from './errors.js';
import { sha256 } from './hash.js';

/**
 * C2SP signed-note (https://c2sp.org/signed-note), Ed25519 signature type 0x01 only.
 *
 *   <text ending in \n>\n
 *   — <key name> base64(4-byte key id || 64-byte Ed25519 signature)\n
 *
 * Key id = SHA-256(name || 0x0A || 0x01 || public key)[:4]. Verifier keys are the Go
 * golang.org/x/mod/sumdb/note strings `<name>+<hex key id>+<base64(0x01 || public key)>`.
 */

/** Signature type byte of plain Ed25519 note signatures. */
export const NOTE_ED25519 = 0x01;
/** The spec requires accepting at least 16 signatures; more is a resource-exhaustion vector. */
export const MAX_NOTE_SIGNATURES = 100;
export const DEFAULT_MAX_NOTE_BYTES = 64 * 1024;

const SIG_PREFIX = '\u2014 ';

/** A trusted key to verify notes with, as parsed from a verifier key string. */
export interface NoteVerifierKey {
  readonly name: string;
  /** 4 bytes. */
  readonly keyId: Uint8Array;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** One signature line of a note, undecoded as to validity. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  /** The bytes after the key id (64 for Ed25519). */
  readonly signature: Uint8Array;
}

/** A note read without verifying it: its text must not be trusted. */
export interface DecodedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note whose signature by at least one trusted key verified. */
export interface VerifiedNote {
  readonly text: string;
  /** The trusted keys whose signatures verified. */
  readonly verifiedBy: readonly NoteVerifierKey[];
}

export interface VerifyNoteOptions {
  backend?: Ed25519Backend;
  maxBytes?: number;
}

function malformed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('MALFORMED_NOTE', message, { cause });
}

/** Key names MUST be non-empty and MUST NOT contain Unicode spaces or '+'. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0085\u180e\u200b]/u.test(name) && !hasForbiddenChars(name);
}

// Notes MUST be valid UTF-8 without control characters other than newline. A JS string cannot
// hold invalid UTF-8, but it can hold lone surrogates, which have no UTF-8 encoding at all.
function hasForbiddenChars(text: string): boolean {
  return /[\u0000-\u0009\u000b-\u001f\u007f]/.test(text) || !text.isWellFormed();
}

/** SHA-256(name || 0x0A || 0x01 || publicKey)[:4]. */
export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(name), new Uint8Array([0x0a, NOTE_ED25519]), publicKey)).slice(0, 4);
}

/** The verifier key string clients pin: `<name>+<hex key id>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new TypeError('name must be non-empty, without spaces or "+"');
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('publicKey must be 32 bytes');
  return `${name}+${toHex(noteKeyId(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([NOTE_ED25519]), publicKey))}`;
}

/** Parses a verifier key string, checking that the key id is the hash of the name and key. */
export function parseVerifierKey(vkey: string): NoteVerifierKey {
  if (typeof vkey !== 'string') throw new TypeError('verifier key must be a string');
  const bad = (why: string, cause?: unknown) => new ProtocolError('INVALID_KEY', `verifier key: ${why}`, { cause });
  // Names cannot hold '+', base64 can: cut at the first two '+' only (as Go's note.NewVerifier).
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw bad('want <name>+<hex key id>+<base64 key>');
  const name = vkey.slice(0, first);
  const hex = vkey.slice(first + 1, second);
  const b64 = vkey.slice(second + 1);
  if (!isValidKeyName(name)) throw bad('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(hex)) throw bad('key id must be 8 lower-case hex digits');
  let key: Uint8Array;
  try {
    key = fromBase64(b64);
  } catch (cause) {
    throw bad('key is not standard base64', cause);
  }
  if (key.length !== 33 || key[0] !== NOTE_ED25519) throw bad('key must be 0x01 followed by a 32-byte Ed25519 key');
  const publicKey = key.slice(1);
  const keyId = fromHex(hex);
  if (!bytesEqual(keyId, noteKeyId(name, publicKey))) throw bad('key id does not match the name and key');
  return { name, keyId, publicKey };
}

/**
 * Reads a signed note's text and signature lines WITHOUT verifying anything: the text is
 * untrusted until verifyNote accepted it. Throws MALFORMED_NOTE on any syntax error.
 */
export function decodeNote(note: string, maxBytes = DEFAULT_MAX_NOTE_BYTES): DecodedNote {
  if (typeof note !== 'string') throw new TypeError('note must be a string');
  if (note.length > maxBytes || utf8(note).length > maxBytes) throw malformed(`note is larger than ${maxBytes} bytes`);
  if (hasForbiddenChars(note)) throw malformed('note contains control characters or is not valid UTF-8');
  if (!note.endsWith('\n')) throw malformed('note does not end in a newline');
  // The text is separated from the signatures by the LAST blank line; the text keeps its final \n.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const sigBlock = note.slice(split + 2);
  if (sigBlock.length === 0) throw malformed('note has no signature lines');
  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line does not start with "— "');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw malformed('signature line has no signature');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (!isValidKeyName(name)) throw malformed('signature line has an invalid key name');
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(b64);
    } catch (cause) {
      throw malformed('signature is not standard base64', cause);
    }
    if (bytes.length < 5) throw malformed('signature is too short');
    return { name, keyId: bytes.slice(0, 4), signature: bytes.slice(4) };
  });
  return { text, signatures };
}

function checkText(text: string): void {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  if (text.length === 0 || !text.endsWith('\n')) throw malformed('note text must be non-empty and end in a newline');
  if (hasForbiddenChars(text)) throw malformed('note text contains control characters or is not valid UTF-8');
}

/** The line `— <name> base64(keyId || signature)\n`. */
export function noteSignatureLine(name: string, publicKey: Uint8Array, signature: Uint8Array): string {
  return `${SIG_PREFIX}${name} ${toBase64(concatBytes(noteKeyId(name, publicKey), signature))}\n`;
}

/**
 * Assembles a signed note from its text and signatures made elsewhere (for a synchronous signer,
 * e.g. the registry's log, which signs with node:crypto inside a synchronous call).
 */
export function assembleNote(text: string, signatureLines: readonly string[]): string {
  checkText(text);
  if (signatureLines.length === 0) throw new TypeError('a note needs at least one signature line');
  return `${text}\n${signatureLines.join('')}`;
}

/** Signs `text` (which must end in a newline) with an Ed25519 seed under `name`. */
export async function signNote(
  text: string,
  key: { name: string; seed: Uint8Array },
  backend: Ed25519Backend = defaultBackend,
): Promise<string> {
  checkText(text);
  if (!isValidKeyName(key.name)) throw new TypeError('key name must be non-empty, without spaces or "+"');
  const signature = await backend.sign(key.seed, utf8(text));
  return assembleNote(text, [noteSignatureLine(key.name, publicKeyOf(key.seed), signature)]);
}

/**
 * Verifies a signed note against trusted verifier keys and returns its text. Signatures from
 * unknown keys (name or key id differ) are ignored, as the spec requires; a signature from a
 * known key that fails rejects the whole note (BAD_SIGNATURE); no signature from a known key
 * rejects it too (UNKNOWN_SIGNER).
 */
export async function verifyNote(
  note: string,
  trustedVerifierKeys: readonly (string | NoteVerifierKey)[],
  options: VerifyNoteOptions = {},
): Promise<VerifiedNote> {
  const backend = options.backend ?? defaultBackend;
  const keys = trustedVerifierKeys.map((k) => (typeof k === 'string' ? parseVerifierKey(k) : k));
  const decoded = decodeNote(note, options.maxBytes);
  const message = utf8(decoded.text);
  const verifiedBy: NoteVerifierKey[] = [];
  for (const sig of decoded.signatures) {
    const key = keys.find((k) => k.name === sig.name && bytesEqual(k.keyId, sig.keyId));
    if (key === undefined) continue; // unknown key: ignored (c2sp signed-note, Signatures)
    if (!(await backend.verify(key.publicKey, message, sig.signature)))
      throw new ProtocolError('BAD_SIGNATURE', `note signature by ${key.name}+${toHex(key.keyId)} does not verify`);
    if (!verifiedBy.includes(key)) verifiedBy.push(key);
  }
  if (verifiedBy.length === 0) throw new ProtocolError('UNKNOWN_SIGNER', 'note is not signed by any trusted key');
  return { text: decoded.text, verifiedBy };
}
