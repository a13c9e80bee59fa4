// Node only: the portable core (lockfile.ts) never touches the file system.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Lockfile } from '@etdi/schemas';
import { VerificationError } from './errors.js';
import { decodeLockfile, emptyLockfile, serializeLockfile } from './lockfile.js';

export interface ReadLockfileOptions {
  /**
   * Whether a missing file reads as an empty lockfile (a host's first run). Default false:
   * a missing lockfile is LOCKFILE_CORRUPT, so a deleted file cannot silently reset approvals.
   */
  allowMissing?: boolean;
}

/** Reads and checks a lockfile; LOCKFILE_CORRUPT when it is unreadable or invalid. */
export async function readLockfile(path: string, options: ReadLockfileOptions = {}): Promise<Lockfile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT' && options.allowMissing === true) return emptyLockfile();
    throw new VerificationError('LOCKFILE_CORRUPT', `cannot read the lockfile ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
  return decodeLockfile(bytes);
}

/**
 * Writes a lockfile atomically: a temp file in the same directory, fsync, rename over the
 * target, fsync the directory. A crash leaves the old file or the new one, never half of one.
 */
export async function writeLockfile(path: string, lockfile: Lockfile): Promise<void> {
  const text = serializeLockfile(lockfile);
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  // Persist the rename itself (POSIX: the directory entry lives in the directory's data).
  const dirHandle = await open(dir, 'r').catch(() => undefined);
  if (dirHandle) {
    await dirHandle.sync().catch(() => undefined);
    await dirHandle.close();
  }
}
