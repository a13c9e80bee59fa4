import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCKFILE_TYPE, type Lockfile, type LockfilePin } from '../../schemas/index.js';
import { VerificationError, decodeLockfile, emptyLockfile, serializeLockfile } from '../../client-verifier/index.js';
import { readLockfile, writeLockfile } from '../../client-verifier/node.js';
import { tempDir } from './support/setup.js';

const pin = (toolId: string, extra: Partial<LockfilePin> = {}): LockfilePin => ({
  toolId,
  version: '1.2.3',
  provider: toolId.slice(0, toolId.indexOf('/')),
  definitionDigest: 'sha256:' + 'a'.repeat(64),
  manifestDigest: 'sha256:' + 'b'.repeat(64),
  signerKeyId: 'k'.repeat(43),
  permissions: ['files:read', 'files:write'],
  approvedPermissions: ['files:read'],
  hints: { readOnlyHint: false },
  approvedAt: '2026-11-25T00:00:00Z',
  ...extra,
});

const sample: Lockfile = {
  type: LOCKFILE_TYPE,
  tools: { 'com.acme/search': pin('com.acme/search'), 'com.acme/a_first': pin('com.acme/a_first') },
  checkpoint: { origin: 'registry.test/log', treeSize: 3, note: 'registry.test/log\n3\nAAAA\n\n— registry.test/log xyz\n' },
};

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('lockfile', () => {
  describe('when serialised', () => {
    it('sorts keys and permission lists, whatever the insertion order', () => {
      const reordered: Lockfile = { checkpoint: sample.checkpoint!, tools: { 'com.acme/a_first': sample.tools['com.acme/a_first']!, 'com.acme/search': { ...pin('com.acme/search'), permissions: ['files:write', 'files:read'] } }, type: LOCKFILE_TYPE };
      expect(serializeLockfile(reordered)).toBe(serializeLockfile(sample));
      const text = serializeLockfile(sample);
      expect(text.indexOf('"com.acme/a_first"')).toBeLessThan(text.indexOf('"com.acme/search"'));
      expect(text.endsWith('}\n')).toBe(true);
    });

    it('round-trips any valid set of pins (property)', () => {
      const toolId = fc.tuple(fc.constantFrom('com.acme', 'io.github.alice', 'org.x'), fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/).filter((n) => n !== '.' && n !== '..')).map(([ns, n]) => `${ns}/${n}`);
      fc.assert(
        fc.property(fc.uniqueArray(toolId, { maxLength: 8 }), fc.subarray(['a:r', 'b:w', 'c:x']), (ids, approved) => {
          const lf: Lockfile = { type: LOCKFILE_TYPE, tools: Object.fromEntries(ids.map((id) => [id, pin(id, { permissions: ['a:r', 'b:w', 'c:x'], approvedPermissions: approved })])) };
          const text = serializeLockfile(lf);
          expect(serializeLockfile(decodeLockfile(text))).toBe(text);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('when the file is corrupt', () => {
    const text = serializeLockfile(sample);
    it.each([
      ['truncated JSON', text.slice(0, text.length / 2)],
      ['empty file', ''],
      ['duplicate key (two pins for one id)', text.replace('"tools": {', '"tools": {"com.acme/search": {},')],
      ['unknown member', text.replace('"type":', '"trustEverything": true, "type":')],
      ['wrong type tag', text.replace(LOCKFILE_TYPE, 'etdi.lockfile/v0')],
      ['approved permission not declared', text.replace('"approvedPermissions": [\n        "files:read"', '"approvedPermissions": [\n        "admin:all"')],
      ['pin under another tool id', text.replace('"com.acme/a_first": {', '"com.acme/other": {')],
      ['bad digest', text.replace('sha256:' + 'a'.repeat(64), 'sha256:xyz')],
      ['a JSON array', '[]'],
    ])('%s -> LOCKFILE_CORRUPT, never an empty trust store', (_name, bad) => {
      let error: unknown;
      try {
        decodeLockfile(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).code).toBe('LOCKFILE_CORRUPT');
    });
  });

  describe('when written to disk', () => {
    it('writes atomically (no temp file left) and reads back the same lockfile', async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const path = join(dir, 'etdi.lock.json');
      await writeLockfile(path, sample);
      await writeLockfile(path, { ...sample, tools: {} });
      expect(readdirSync(dir)).toEqual(['etdi.lock.json']);
      expect(await readLockfile(path)).toEqual({ ...sample, tools: {} });
    });

    it('refuses a missing file unless the host allows a first run', async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const path = join(dir, 'missing.json');
      await expect(readLockfile(path)).rejects.toMatchObject({ code: 'LOCKFILE_CORRUPT' });
      expect(await readLockfile(path, { allowMissing: true })).toEqual(emptyLockfile());
    });

    it('refuses a corrupted file on disk', async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const path = join(dir, 'etdi.lock.json');
      await writeLockfile(path, sample);
      writeFileSync(path, readFileSync(path, 'utf8').slice(0, 40));
      await expect(readLockfile(path)).rejects.toBeInstanceOf(VerificationError);
      await expect(readLockfile(path, { allowMissing: true })).rejects.toMatchObject({ code: 'LOCKFILE_CORRUPT' });
    });
  });
});
