/**
 * acceptsBundleSet (client-verifier/bundle-check.ts) may only ever accept what BundleSetSchema
 * accepts: it replaces zod on decodeBundleSet's path, and zod decides (and names the path of the
 * issue) whenever it says no. Real bundles from the fixture registry (real keys, a real log).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_SET_TYPE, BundleSetSchema, type BundleSet } from '../../schemas/index.js';
import { VerificationError, decodeBundleSet } from '../../client-verifier/index.js';
import { acceptsBundleSet } from '../../client-verifier/bundle-check.js';
import { parseStrictJson } from '../../protocol/index.js';
import { clone, newRegistry, newVerifier, realTools, tempDir } from './support/setup.js';
import type { FixtureRegistry } from './support/fixture-registry.js';

let tmp: ReturnType<typeof tempDir>;
let reg: FixtureRegistry;
let valid: BundleSet;
/** The first bundle as the registry served it (with its own per-version attestation). */
let served: BundleSet['bundles'][number];
let firstTool: Record<string, unknown>;

beforeAll(async () => {
  tmp = tempDir();
  reg = newRegistry(tmp.dir);
  const key = reg.registerNamespace('com.acme');
  const [a, b, c] = realTools('filesystem') as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  await reg.publish('com.acme', a, { version: '1.0.0', permissions: ['files:read'] });
  await reg.publish('com.acme', b, { version: '2.1.0-rc.1', permissions: [] });
  await reg.publish('com.acme', c, { version: '1.0.0', permissions: ['files:read', 'files:write'] });
  reg.revokeVersion(`com.acme/${b.name as string}`, '2.1.0-rc.1');
  firstTool = a;
  const bundles = [
    await reg.bundle(`com.acme/${a.name as string}`, '1.0.0'),
    await reg.bundle(`com.acme/${b.name as string}`, '2.1.0-rc.1'),
    await reg.bundle(`com.acme/${c.name as string}`, '1.0.0'),
  ];
  // the third bundle's key as a revoked one (revokedFrom and reason present)
  bundles[2] = { ...bundles[2]!, status: { ...bundles[2]!.status, signerKey: { ...bundles[2]!.status.signerKey, status: 'revoked', revokedFrom: '2030-01-01T00:00:00Z', reason: 'rotated' } } };
  expect(bundles[2]!.status.signerKey.keyId).toBe(key.keyId);
  served = bundles[0]!;
  valid = {
    type: BUNDLE_SET_TYPE,
    attestation: 'header.payload.signature',
    bundles: bundles.map((x) => ({ ...x, status: { ...x.status, attestation: '' } })),
    latest: [{ toolId: `com.acme/${a.name as string}`, version: '1.0.0' }],
    missing: [{ toolId: 'com.acme/gone', version: 'latest', code: 'TOOL_NOT_FOUND' }],
  };
});
afterAll(() => {
  reg.close();
  tmp.cleanup();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** The set's JSON text after `change`, parsed as decodeBundleSet parses it. */
const mutated = (change: (s: Json) => void): { text: string; value: unknown } => {
  const s = clone(valid) as Json;
  change(s);
  const text = JSON.stringify(s);
  return { text, value: parseStrictJson(text, { maxBytes: 1 << 24 }) };
};
const zodAccepts = (value: unknown): boolean => BundleSetSchema.safeParse(value).success;

describe('acceptsBundleSet', () => {
  describe('when the set is valid', () => {
    it('accepts it (active, revoked version, revoked key), as zod does, and decodeBundleSet returns the parsed value', () => {
      const { text, value } = mutated(() => {});
      expect(zodAccepts(value)).toBe(true);
      expect(acceptsBundleSet(value)).toBe(true);
      expect(decodeBundleSet(text)).toEqual(valid);
    });
  });

  describe('when one rule of the schema is broken', () => {
    const b0 = (s: Json): Json => s.bundles[0];
    const b1 = (s: Json): Json => s.bundles[1];
    const b2 = (s: Json): Json => s.bundles[2];
    it.each<[string, (s: Json) => void, string]>([
      ['an unknown set member', (s) => (s.extra = 1), '(root)'],
      ['no `latest`', (s) => delete s.latest, 'latest'],
      ['another set type', (s) => (s.type = 'etdi.bundle-set/v2'), 'type'],
      ['a numeric attestation', (s) => (s.attestation = 1), 'attestation'],
      ['bundles not an array', (s) => (s.bundles = {}), 'bundles'],
      ['257 bundles', (s) => (s.bundles = Array.from({ length: 257 }, () => s.bundles[0])), 'bundles'],
      ['a latest entry with a bad tool id', (s) => (s.latest[0].toolId = 'no-slash'), 'latest.0.toolId'],
      ['a latest entry with an extra member', (s) => (s.latest[0].x = 1), 'latest.0'],
      ['a missing entry with an unknown code', (s) => (s.missing[0].code = 'GONE'), 'missing.0.code'],
      ['a missing entry with a 301-character tool id', (s) => (s.missing[0].toolId = 'a'.repeat(301)), 'missing.0.toolId'],
      ['another bundle type', (s) => (b0(s).type = 'etdi.bundle/v0'), 'bundles.0.type'],
      ['an unknown bundle member', (s) => (b0(s).extra = true), 'bundles.0'],
      ['no record', (s) => delete b0(s).record, 'bundles.0.record'],
      ['a record tool id without namespace', (s) => (b0(s).record.toolId = '/read_file'), 'bundles.0.record.toolId'],
      ['a record version that is not semver', (s) => (b0(s).record.version = 'v1'), 'bundles.0.record.version'],
      ['an upper-case provider', (s) => (b0(s).record.provider = 'Com.Acme'), 'bundles.0.record.provider'],
      ['an upper-case definition digest', (s) => (b0(s).record.definitionDigest = b0(s).record.definitionDigest.toUpperCase()), 'bundles.0.record.definitionDigest'],
      ['no manifest digest', (s) => delete b0(s).record.manifestDigest, 'bundles.0.record.manifestDigest'],
      ['a short signer key id', (s) => (b0(s).record.signerKeyId = 'abc'), 'bundles.0.record.signerKeyId'],
      ['a date without time', (s) => (b0(s).record.publishedAt = '2026-01-01'), 'bundles.0.record.publishedAt'],
      ['a publishedBy of 257 characters', (s) => (b0(s).record.publishedBy = 'k'.repeat(257)), 'bundles.0.record.publishedBy'],
      ['a negative leaf index', (s) => (b0(s).record.leafIndex = -1), 'bundles.0.record.leafIndex'],
      ['a fractional leaf index', (s) => (b0(s).record.leafIndex = 1.5), 'bundles.0.record.leafIndex'],
      ['an unsafe leaf index', (s) => (b0(s).record.leafIndex = 2 ** 53), 'bundles.0.record.leafIndex'],
      ['an unknown record member', (s) => (b0(s).record.note = ''), 'bundles.0.record'],
      ['a manifest version that is not semver', (s) => (b0(s).record.signedManifest.manifest.version = '1'), 'bundles.0.record.signedManifest.manifest.version'],
      ['a repeated permission', (s) => (b0(s).record.signedManifest.manifest.permissions = ['a', 'a']), 'bundles.0.record.signedManifest.manifest.permissions'],
      ['no signature', (s) => (b0(s).record.signedManifest.signatures = []), 'bundles.0.record.signedManifest.signatures'],
      ['a definition without name', (s) => delete b0(s).record.signedManifest.manifest.definition.name, 'bundles.0.record.signedManifest.manifest.definition.name'],
      ['an unknown status', (s) => (b0(s).status.status = 'paused'), 'bundles.0.status.status'],
      ['a status tool id that is not one', (s) => (b0(s).status.toolId = 'com.acme/'), 'bundles.0.status.toolId'],
      ['a numeric status attestation', (s) => (b0(s).status.attestation = 0), 'bundles.0.status.attestation'],
      ['an unknown status member', (s) => (b0(s).status.extra = null), 'bundles.0.status'],
      ['a revocation with an unknown member', (s) => (b1(s).status.revocation.extra = 1), 'bundles.1.status.revocation'],
      ['a revocation time that is not ISO', (s) => (b1(s).status.revocation.revokedAt = 'yesterday'), 'bundles.1.status.revocation.revokedAt'],
      ['a revocation without reason', (s) => delete b1(s).status.revocation.reason, 'bundles.1.status.revocation.reason'],
      ['a bad key id in the key status', (s) => (b0(s).status.signerKey.keyId = '!'.repeat(43)), 'bundles.0.status.signerKey.keyId'],
      ['a JWK of another key type', (s) => (b0(s).status.signerKey.jwk.kty = 'EC'), 'bundles.0.status.signerKey.jwk.kty'],
      ['a JWK with a short x', (s) => (b0(s).status.signerKey.jwk.x = 'AAAA'), 'bundles.0.status.signerKey.jwk.x'],
      ['a JWK with a bad kid', (s) => (b0(s).status.signerKey.jwk.kid = 'x'), 'bundles.0.status.signerKey.jwk.kid'],
      ['a JWK for another algorithm', (s) => (b0(s).status.signerKey.jwk.alg = 'ES256'), 'bundles.0.status.signerKey.jwk.alg'],
      ['a JWK for encryption', (s) => (b0(s).status.signerKey.jwk.use = 'enc'), 'bundles.0.status.signerKey.jwk.use'],
      ['an unknown key status', (s) => (b0(s).status.signerKey.status = 'expired'), 'bundles.0.status.signerKey.status'],
      ['a key added at no ISO time', (s) => (b0(s).status.signerKey.addedAt = 0), 'bundles.0.status.signerKey.addedAt'],
      ['a key revoked from no ISO time', (s) => (b2(s).status.signerKey.revokedFrom = '2030-01-01 00:00:00'), 'bundles.2.status.signerKey.revokedFrom'],
      ['a numeric revocation reason of the key', (s) => (b2(s).status.signerKey.reason = 1), 'bundles.2.status.signerKey.reason'],
      ['an unknown key status member', (s) => (b0(s).status.signerKey.extra = 1), 'bundles.0.status.signerKey'],
      ['a negative log leaf index', (s) => (b0(s).status.log.leafIndex = -2), 'bundles.0.status.log.leafIndex'],
      ['an unknown log evidence member', (s) => (b0(s).status.log.extra = 1), 'bundles.0.status.log'],
      ['a checkpoint of 8193 characters', (s) => (b0(s).status.log.checkpoint = 'c'.repeat(8193)), 'bundles.0.status.log.checkpoint'],
      ['a proof hash in base64url', (s) => (b0(s).status.log.inclusionProof.hashes = ['_'.repeat(43) + '=']), 'bundles.0.status.log.inclusionProof.hashes.0'],
      ['65 proof hashes', (s) => (b0(s).status.log.inclusionProof.hashes = Array.from({ length: 65 }, () => 'A'.repeat(43) + '=')), 'bundles.0.status.log.inclusionProof.hashes'],
      ['a proof tree size above 2^53', (s) => (b0(s).status.log.inclusionProof.treeSize = 2 ** 53 + 2), 'bundles.0.status.log.inclusionProof.treeSize'],
      ['an unknown proof member', (s) => (b0(s).status.log.inclusionProof.extra = []), 'bundles.0.status.log.inclusionProof'],
    ])('%s: zod refuses, it does not accept, decodeBundleSet names the path', (_name, change, path) => {
      const { text, value } = mutated(change);
      expect(zodAccepts(value)).toBe(false);
      expect(acceptsBundleSet(value)).toBe(false);
      let error: unknown;
      try {
        decodeBundleSet(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).code).toBe('SCHEMA_INVALID');
      expect((error as VerificationError).message).toContain(`bundle set is invalid: ${path}`);
    });
  });

  describe('when a manifest in the set was altered after signing (schema-valid)', () => {
    it('takes the fast acceptance, and the tool is still refused BAD_SIGNATURE at verify time', async () => {
      const altered = clone(served) as Json;
      altered.record.signedManifest.manifest.definition.description += ' (now also deletes files)';
      const set = { type: BUNDLE_SET_TYPE, attestation: '', bundles: [altered], latest: [], missing: [] };
      const text = JSON.stringify(set);
      expect(acceptsBundleSet(parseStrictJson(text, { maxBytes: 1 << 24 }))).toBe(true);
      const v = await newVerifier(reg);
      await v.addBundleSet(decodeBundleSet(text));
      const live = clone(altered.record.signedManifest.manifest.definition) as Record<string, unknown>;
      const error = await v.verify(live, { provider: 'com.acme' }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).code).toBe('BAD_SIGNATURE');
      // the untouched bundle through the same path verifies (the refusal is the alteration's)
      const honest = await newVerifier(reg);
      await honest.addBundleSet(decodeBundleSet(JSON.stringify({ ...set, bundles: [served] })));
      expect((await honest.verify(clone(firstTool), { provider: 'com.acme' })).toolId).toBe(`com.acme/${firstTool.name as string}`);
    });
  });

  describe('when the set is mutated at random', () => {
    /** Every path to a value in a JSON value. */
    const paths = (v: unknown, at: (string | number)[] = []): (string | number)[][] => {
      const out: (string | number)[][] = [at];
      if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
      return out;
    };
    const replacements: unknown[] = [null, true, 0, -1, 1.5, 2 ** 53, '', 'x', 'A'.repeat(43), 'A'.repeat(43) + '=', '2026-01-01T00:00:00Z', 'com.acme', 'com.acme/x', '1.0.0', 'sha256:' + '0'.repeat(64), [], {}, ['a'], { a: 1 }, 'EdDSA', 'OKP', 'Ed25519', 'active', 'revoked', 'sig'];
    it('never accepts what zod refuses (replaced, deleted and added members)', () => {
      const all = paths(clone(valid)).filter((p) => p.length > 0);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: all.length - 1 }), fc.integer({ min: 0, max: replacements.length + 1 }), (i, r) => {
          const { value } = mutated((s) => {
            const path = all[i]!;
            const parent = path.slice(0, -1).reduce<Json>((o, k) => o[k as string], s);
            const last = path[path.length - 1]!;
            if (r === replacements.length) delete parent[last as string];
            else if (r === replacements.length + 1) parent[Array.isArray(parent) ? parent.length : 'added'] = 'x';
            else parent[last as string] = clone(replacements[r]);
          });
          if (acceptsBundleSet(value)) expect(zodAccepts(value)).toBe(true);
        }),
        { numRuns: 1500 },
      );
    });
  });
});
