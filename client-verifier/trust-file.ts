// Node only: the portable core (trust.ts) never touches the file system.
import { readFile, writeFile } from 'node:fs/promises';
import type { TrustFile } from '@etdi/schemas';
import { parseStrictJson } from '@etdi/protocol';
import { VerificationError } from './errors.js';
import { decodeTrustFile } from './trust.js';

const MAX_TRUST_FILE_BYTES = 256 * 1024;

/** Reads and checks a trust file (`etdi trust init` writes it); SCHEMA_INVALID when unreadable or invalid. */
export async function readTrustFile(path: string): Promise<TrustFile> {
  let value: unknown;
  try {
    value = parseStrictJson(await readFile(path), { maxBytes: MAX_TRUST_FILE_BYTES });
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `cannot read the trust file ${path}: ${(cause as Error).message} (write one with etdi trust init --registry <url> --out ${path})`, { path }, { cause });
  }
  return decodeTrustFile(value, path);
}

/**
 * Writes a trust file. `exclusive` (default true) refuses to replace an existing one: a pinned
 * trust root changes only when a person deletes it on purpose.
 */
export async function writeTrustFile(path: string, trust: TrustFile, options: { exclusive?: boolean } = {}): Promise<void> {
  await writeFile(path, JSON.stringify(decodeTrustFile(trust), null, 2) + '\n', { mode: 0o644, flag: options.exclusive === false ? 'w' : 'wx' });
}
