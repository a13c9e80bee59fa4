import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fromHex,
  nobleBackend,
  nodeBackend,
  nodeThreadpoolBackend,
  publicKeyOf,
  webCryptoBackend,
  type Ed25519Backend,
} from '../../protocol/index.js';
import { readFixture } from '../helpers/fixtures.js';

interface WycheproofCase {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid';
  flags: string[];
}
const suite = JSON.parse(readFixture('wycheproof/ed25519_test.json')) as {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: WycheproofCase[] }[];
};
const cases = suite.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));

const backends: Ed25519Backend[] = [nodeBackend!, nodeThreadpoolBackend!, webCryptoBackend!, nobleBackend];

describe('Ed25519 backends', () => {
  it('all four are present in Node', () => {
    expect(backends.map((b) => b?.name)).toEqual(['node', 'node-threadpool', 'webcrypto', 'noble']);
  });

  it('the Wycheproof file holds all 151 cases', () => {
    expect(cases).toHaveLength(151);
    expect(suite.numberOfTests).toBe(151);
  });

  describe.each(backends.map((b) => [b.name, b] as const))('%s (RFC 8032 strict)', (_name, backend) => {
    it.each(cases.map((c) => [`tcId ${c.tcId} ${c.result} ${c.comment}`, c] as const))('%s', async (_label, c) => {
      const ok = await backend.verify(fromHex(c.pk), fromHex(c.msg), fromHex(c.sig));
      expect(ok).toBe(c.result === 'valid');
    });
  });

  it('sign with each backend, verify with every other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 256 }), async (seed, msg) => {
        const pk = publicKeyOf(seed);
        const sigs = await Promise.all(backends.map((b) => b.sign(seed, msg)));
        // Ed25519 is deterministic: every implementation yields the same bytes.
        for (const s of sigs) expect(s).toEqual(sigs[0]);
        for (const b of backends) expect(await b.verify(pk, msg, sigs[0]!)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it.each([
    ['a 31-byte key', new Uint8Array(31), new Uint8Array(64)],
    ['a 63-byte signature', new Uint8Array(32), new Uint8Array(63)],
    ['an all-zero key and signature', new Uint8Array(32), new Uint8Array(64)],
  ])('every backend answers false, never throws, for %s', async (_n, pk, sig) => {
    for (const b of backends) expect(await b.verify(pk, new Uint8Array(1), sig)).toBe(false);
  });
});
