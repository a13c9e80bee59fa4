import { fromBase64, toBase64 } from './encoding.js';
import { ProtocolError } from './errors.js';

/**
 * C2SP tlog-checkpoint note text (https://c2sp.org/tlog-checkpoint):
 *
 *   <origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n]*
 *
 * This is the text of a signed note; sign and verify it with protocol/signed-note.ts.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** Opaque, optional; NOT RECOMMENDED by the spec (monitors cannot audit them). */
  extensions: string[];
}

function malformed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('MALFORMED_CHECKPOINT', message, { cause });
}

// Lines cannot hold newlines; control characters are already refused by the signed-note layer.
const isLine = (s: string): boolean => s.length > 0 && !/[\u0000-\u001f\u007f]/.test(s) && s.isWellFormed();

/** Formats a checkpoint body. The size is written in decimal without leading zeroes. */
export function formatCheckpoint(checkpoint: {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: readonly string[];
}): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (!isLine(origin)) throw new TypeError('origin must be a non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('size must be a non-negative safe integer');
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== 32) throw new TypeError('rootHash must be 32 bytes');
  for (const e of extensions) if (!isLine(e)) throw new TypeError('extension lines must be non-empty lines');
  return [origin, String(size), toBase64(rootHash), ...extensions].join('\n') + '\n';
}

/**
 * Parses a checkpoint body (a note's text, after the note was verified). Refuses leading zeroes,
 * sizes beyond 2^53 - 1, a root hash that is not 32 bytes of canonical base64, and empty lines.
 * `expectedOrigin`, when given, must match: a checkpoint of another log is not this log's.
 */
export function parseCheckpoint(text: string, expectedOrigin?: string): Checkpoint {
  if (typeof text !== 'string') throw new TypeError('checkpoint text must be a string');
  if (!text.endsWith('\n')) throw malformed('checkpoint does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('checkpoint needs origin, size and root hash lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (!lines.every(isLine)) throw malformed('checkpoint lines must be non-empty');
  if (expectedOrigin !== undefined && origin !== expectedOrigin)
    throw malformed(`checkpoint origin "${origin}" is not "${expectedOrigin}"`);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw malformed('tree size is not a decimal without leading zeroes');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw malformed('tree size is larger than 2^53 - 1');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch (cause) {
    throw malformed('root hash is not standard base64', cause);
  }
  if (rootHash.length !== 32) throw malformed('root hash is not 32 bytes');
  return { origin, size, rootHash, extensions };
}
