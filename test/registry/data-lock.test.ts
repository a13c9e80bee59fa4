import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATA_LOCK_FILE, DataDirLockedError, lockDataDir } from '../../registry/index.js';

/** The pid of a process that has exited: a crashed registry's. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('the data directory lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'etdi-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('when a live registry holds the directory', () => {
    it('refuses a second one, naming the holder pid, and leaves the holder lock in place', () => {
      const holder = lockDataDir(dir, process.ppid); // a live process other than this one
      try {
        let error: unknown;
        try {
          lockDataDir(dir);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(DataDirLockedError);
        expect((error as DataDirLockedError).holder.pid).toBe(process.ppid);
        expect((error as Error).message).toContain(`pid ${process.ppid}`);
        expect(JSON.parse(readFileSync(join(dir, DATA_LOCK_FILE), 'utf8')).pid).toBe(process.ppid);
      } finally {
        holder.release();
      }
      expect(existsSync(join(dir, DATA_LOCK_FILE))).toBe(false);
    });
  });

  describe('when the lock was left by a registry that died', () => {
    it.each([
      ['a dead pid on this host', () => JSON.stringify({ pid: deadPid(), hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' })],
      ['a half-written lock file', () => '{"pid":'],
    ])('takes it over: %s', (_name, content) => {
      writeFileSync(join(dir, DATA_LOCK_FILE), content());
      const lock = lockDataDir(dir);
      expect(JSON.parse(readFileSync(join(dir, DATA_LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      lock.release();
      expect(existsSync(join(dir, DATA_LOCK_FILE))).toBe(false);
    });
  });

  describe('when the lock names another host (a shared filesystem)', () => {
    it('never takes it over: the pid means nothing here', () => {
      writeFileSync(join(dir, DATA_LOCK_FILE), JSON.stringify({ pid: deadPid(), hostname: `not-${hostname()}`, startedAt: '2026-01-01T00:00:00.000Z' }));
      expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
    });
  });
});
