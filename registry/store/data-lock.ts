import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file a registry holds in its data directory while it runs. */
export const DATA_LOCK_FILE = 'registry.lock';

/** Who holds a data directory: written into the lock file as JSON. */
export interface DataLockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** A data directory another live registry holds: the operator must stop it (or pick another directory). */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = 'DATA_DIR_LOCKED';
  readonly holder: DataLockHolder;
  readonly path: string;

  constructor(path: string, holder: DataLockHolder) {
    super(
      `the data directory is in use by the registry with pid ${holder.pid} on ${holder.hostname} (since ${holder.startedAt}): stop it first, or use another --data directory (lock file ${path})`,
    );
    this.holder = holder;
    this.path = path;
  }
}

export interface DataLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): DataLockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<DataLockHolder>;
    if (typeof value.pid === 'number' && Number.isInteger(value.pid) && value.pid > 0)
      return { pid: value.pid, hostname: String(value.hostname ?? ''), startedAt: String(value.startedAt ?? '') };
  } catch {
    // unreadable or half-written: treated as stale below
  }
  return undefined;
}

/**
 * Takes the data directory for this process. Two registries on one SQLite file would each keep
 * their own log tree border, key cache and write queue: the second one's checkpoints could
 * contradict the first's. The lock file is created atomically (a hard link of a complete
 * temporary file, which fails if the lock exists), so it is never seen half-written. A lock left
 * by a process that no longer exists on this host (a crash, SIGKILL) is taken over. A lock
 * from another host is never taken over: its pid means nothing here (a shared filesystem).
 */
export function lockDataDir(dir: string, pid: number = process.pid): DataLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, DATA_LOCK_FILE);
  const me: DataLockHolder = { pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const temp = join(dir, `${DATA_LOCK_FILE}.${pid}.tmp`);
  writeFileSync(temp, JSON.stringify(me) + '\n', { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
      if (!existsSync(path)) continue; // released meanwhile: link again
      const holder = readHolder(path);
      if (holder !== undefined && (holder.hostname !== me.hostname || (holder.pid !== pid && isAlive(holder.pid))))
        throw new DataDirLockedError(path, holder);
      // stale (dead pid on this host, or unreadable): take it over
      try {
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  } finally {
    unlinkSync(temp);
  }
  // Two processes taking over the same stale lock at once: the loser's link fails (EEXIST) and it
  // then sees the winner alive. Check that the file we hold is ours.
  const now = readHolder(path);
  if (now?.pid !== pid) throw new DataDirLockedError(path, now ?? me);
  let released = false;
  return {
    path,
    release(): void {
      if (released) return;
      released = true;
      if (readHolder(path)?.pid === pid) {
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      }
    },
  };
}
