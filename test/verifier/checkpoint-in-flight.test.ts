/**
 * verifyCheckpoint shares one verification of a note among callers that arrive while it is in
 * flight (a listing's bundles reach the log check together): the real log, real keys; the
 * backend is the real node:crypto one, wrapped only to count its calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, type Ed25519Backend } from '../../protocol/index.js';
import { CheckpointCache, LogVerificationError, verifyCheckpoint } from '../../client-verifier/log/index.js';
import { newRegistry, realTools, tempDir } from './support/setup.js';
import type { FixtureRegistry } from './support/fixture-registry.js';

let tmp: ReturnType<typeof tempDir>;
let reg: FixtureRegistry;
let note: string;

beforeAll(async () => {
  tmp = tempDir();
  reg = newRegistry(tmp.dir);
  reg.registerNamespace('com.acme');
  await reg.publish('com.acme', realTools('memory')[0]!, { version: '1.0.0' });
  note = await reg.log.checkpoint();
});
afterAll(async () => {
  await reg.close();
  tmp.cleanup();
});

function counting(): { backend: Ed25519Backend; calls: () => number } {
  let n = 0;
  return {
    backend: { ...defaultBackend, verify: (key, message, sig) => (n++, defaultBackend.verify(key, message, sig)) },
    calls: () => n,
  };
}

describe('verifyCheckpoint', () => {
  describe('when many callers ask for one note at once', () => {
    it('verifies it once and gives every caller the same checkpoint', async () => {
      const { backend, calls } = counting();
      const options = { verified: new CheckpointCache(), backend };
      const results = await Promise.all(Array.from({ length: 20 }, () => verifyCheckpoint(note, reg.log.verifierKey(), options)));
      expect(calls()).toBe(1);
      for (const r of results) expect(r).toBe(results[0]);
      expect(options.verified.get(note)).toBe(results[0]);
    });
  });

  describe('when the note does not verify', () => {
    it('refuses every waiting caller with BAD_CHECKPOINT and remembers nothing: the next caller verifies again', async () => {
      const { backend, calls } = counting();
      const options = { verified: new CheckpointCache(), backend };
      const forged = note.replace(/\n(\d+)\n/, (_m, size: string) => `\n${Number(size) + 1}\n`);
      expect(forged).not.toBe(note);
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => verifyCheckpoint(forged, reg.log.verifierKey(), options)));
      for (const o of outcomes) {
        expect(o.status).toBe('rejected');
        const reason = (o as PromiseRejectedResult).reason as LogVerificationError;
        expect(reason).toBeInstanceOf(LogVerificationError);
        expect(reason.code).toBe('BAD_CHECKPOINT');
      }
      expect(calls()).toBe(1);
      expect(options.verified.size).toBe(0);
      await expect(verifyCheckpoint(forged, reg.log.verifierKey(), options)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT' });
      expect(calls()).toBe(2);
    });
  });
});
