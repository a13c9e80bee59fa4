import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  canonicalManifest,
  decodeSignedManifest,
  definitionDigest,
  digestOf,
  fromBase64Url,
  generateKeyPair,
  jwkThumbprint,
  ProtocolError,
  publicKeyBytes,
  signManifest,
  toBase64Url,
  verifyManifestSignature,
  verifySignedManifest,
  type KeyResolver,
} from '../../protocol/index.js';
import { MANIFEST_META_KEY, type Ed25519PublicJwk, type SignedManifest } from '../../schemas/index.js';
import { manifestFor, realTools, signedFixture } from '../helpers/manifests.js';

const only =
  (jwk: Ed25519PublicJwk): KeyResolver =>
  (id) =>
    id === jwkThumbprint(jwk) ? jwk : undefined;

const expectCode = async (p: Promise<unknown>, code: string): Promise<void> => {
  await expect(p).rejects.toBeInstanceOf(ProtocolError);
  await expect(p).rejects.toMatchObject({ code });
};

describe('signManifest / verifyManifestSignature', () => {
  describe('with every real tool of the reference servers', () => {
    const all = (['filesystem', 'everything', 'memory', 'sequential-thinking'] as const).flatMap(realTools);
    it.each(all.map((d) => [d.name, d] as const))('%s signs and verifies', async (_n, def) => {
      const { signed, key } = await signedFixture(def);
      const verified = await verifyManifestSignature(decodeSignedManifest(JSON.stringify(signed)), only(key.publicJwk));
      expect(verified.keyId).toBe(key.keyId);
      expect(verified.definitionDigest).toBe(definitionDigest(def));
      expect(verified.manifestDigest).toBe(digestOf(signed.manifest));
    });
  });

  it('keeps non-standard fields of the definition under the signature (never strips them)', async () => {
    const def = { ...realTools('filesystem')[0]!, annotations: { readOnlyHint: true, vendorRisk: 'low' }, futureField: { x: 1 } };
    const { signed, key } = await signedFixture(def);
    const decoded = decodeSignedManifest(JSON.stringify(signed));
    expect(decoded.manifest.definition).toHaveProperty('futureField');
    expect(decoded.manifest.definition.annotations).toHaveProperty('vendorRisk', 'low');
    const tampered = structuredClone(signed) as unknown as { manifest: { definition: { annotations: Record<string, unknown> } } };
    tampered.manifest.definition.annotations.vendorRisk = 'none';
    await expectCode(verifyManifestSignature(decodeSignedManifest(tampered), only(key.publicJwk)), 'BAD_SIGNATURE');
  });

  describe('properties', () => {
    const key = generateKeyPair();
    const definitions = fc.record({
      name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/).filter((n) => n !== '.' && n !== '..'),
      description: fc.string({ maxLength: 300 }),
      inputSchema: fc.record({ type: fc.constant('object' as const), properties: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 })) }),
      extra: fc.jsonValue({ maxDepth: 3 }),
    });
    const permissions = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}:[a-z]{1,8}$/), { maxLength: 5 });

    it('sign then verify holds for arbitrary manifests', async () => {
      await fc.assert(
        fc.asyncProperty(definitions, permissions, async (def, perms) => {
          const signed = await signManifest(manifestFor(def, { permissions: perms }), [key.privateJwk]);
          const v = await verifyManifestSignature(decodeSignedManifest(JSON.stringify(signed)), only(key.publicJwk));
          expect(v.keyId).toBe(key.keyId);
        }),
        { numRuns: 60 },
      );
    });

    it('any single changed byte of the canonical manifest makes verification fail', async () => {
      const { signed } = await signedFixture(realTools('filesystem')[2]!, key);
      const text = canonicalize(signed.manifest);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: text.length - 1 }), fc.integer({ min: 1, max: 94 }), async (at, delta) => {
          const bytes = new TextEncoder().encode(text);
          bytes[at] = 0x20 + ((bytes[at]! - 0x20 + delta) % 95);
          let manifest: unknown;
          try {
            manifest = JSON.parse(new TextDecoder().decode(bytes));
          } catch {
            return; // no longer JSON: refused before any signature check
          }
          const changed = { manifest, signatures: signed.signatures };
          const attempt = (async () => verifyManifestSignature(decodeSignedManifest(changed), only(key.publicJwk)))();
          await expect(attempt).rejects.toBeInstanceOf(ProtocolError);
        }),
        { numRuns: 150 },
      );
    });

    it('any single changed byte of the signature makes verification fail', async () => {
      const { signed } = await signedFixture(realTools('memory')[0]!, key);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
          const sig = fromBase64Url(signed.signatures[0]!.sig);
          sig[at] = sig[at]! ^ xor;
          const changed: SignedManifest = { ...signed, signatures: [{ ...signed.signatures[0]!, sig: toBase64Url(sig) }] };
          await expectCode(verifyManifestSignature(changed, only(key.publicJwk)), 'BAD_SIGNATURE');
        }),
        { numRuns: 100 },
      );
    });

    it('any single changed byte of the key makes verification fail', async () => {
      const { signed } = await signedFixture(realTools('memory')[1]!, key);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: 31 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
          const x = fromBase64Url(key.publicJwk.x);
          x[at] = x[at]! ^ xor;
          const other: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(x) };
          // The key id is bound to the key: a changed key is either unknown or fails to verify.
          const p = verifyManifestSignature(signed, () => other);
          await expect(p).rejects.toBeInstanceOf(ProtocolError);
          await expect(p).rejects.toMatchObject({ code: expect.stringMatching(/^(INVALID_KEY|BAD_SIGNATURE)$/) });
        }),
        { numRuns: 60 },
      );
    });
  });

  describe('when the signer is not known', () => {
    it('reports UNKNOWN_SIGNER, kept apart from BAD_SIGNATURE', async () => {
      const { signed } = await signedFixture(realTools('memory')[0]!);
      await expectCode(verifyManifestSignature(signed, () => undefined), 'UNKNOWN_SIGNER');
    });

    it('a valid signature by another trusted key does not excuse a bad one', async () => {
      const a = generateKeyPair();
      const b = generateKeyPair();
      const signed = await signManifest(manifestFor(realTools('memory')[0]!), [a.privateJwk, b.privateJwk]);
      const broken: SignedManifest = {
        ...signed,
        signatures: [signed.signatures[0]!, { ...signed.signatures[1]!, sig: signed.signatures[0]!.sig }],
      };
      const keys = new Map([a, b].map((k) => [k.keyId, k.publicJwk]));
      await expectCode(verifyManifestSignature(broken, (id) => keys.get(id)), 'BAD_SIGNATURE');
    });
  });

  describe('the definition digest', () => {
    it('ignores the _meta key that carries the manifest, and nothing else', () => {
      const def = realTools('filesystem')[0]!;
      const carried = { ...def, _meta: { [MANIFEST_META_KEY]: { any: 'thing' } } };
      expect(definitionDigest(carried)).toBe(definitionDigest(def));
      const withOther = { ...def, _meta: { [MANIFEST_META_KEY]: {}, 'com.acme/x': 1 } };
      expect(definitionDigest(withOther)).not.toBe(definitionDigest(def));
      expect(definitionDigest({ ...def, description: `${def.description} ` })).not.toBe(definitionDigest(def));
    });

    it('does not depend on the order of keys the server sent', () => {
      const def = realTools('filesystem')[0]!;
      const reordered = Object.fromEntries(Object.entries(def).reverse());
      expect(definitionDigest(reordered)).toBe(definitionDigest(def));
    });
  });
});

describe('publicKeyBytes', () => {
  it.each([
    ['another algorithm', { alg: 'ES256' }],
    ['another use', { use: 'enc' }],
    ['a kid that is not its thumbprint', { kid: 'A'.repeat(43) }],
    ['another curve', { crv: 'Ed448' }],
  ])('refuses a known key presented with %s (the memo is no shortcut past the schema)', (_n, change) => {
    const k = generateKeyPair();
    expect(publicKeyBytes(k.publicJwk)).toHaveLength(32); // now remembered
    expect(() => publicKeyBytes({ ...k.publicJwk, ...change })).toThrowError(expect.objectContaining({ code: 'INVALID_KEY' }));
  });

  it('hands out copies: changing a returned array does not change the key', () => {
    const k = generateKeyPair();
    const a = publicKeyBytes(k.publicJwk);
    a.fill(0);
    expect(publicKeyBytes(k.publicJwk)).toEqual(fromBase64Url(k.publicJwk.x));
  });
});

describe('verifySignedManifest', () => {
  describe('when the input is refused before any signature is checked', () => {
    it.each([
      ['text that is not JSON', () => '{', 'INVALID_JSON'],
      ['a document over the size limit', () => ' '.repeat(70_000), 'TOO_LARGE'],
      ['a document the schema refuses', () => '{"manifest":{},"signatures":[]}', 'SCHEMA_INVALID'],
      ['an object the schema refuses', () => ({ manifest: null }), 'SCHEMA_INVALID'],
      ['a resolver that throws', () => 'resolver', 'UNKNOWN_SIGNER'],
    ])('hands back a rejected promise for %s, never a synchronous throw', async (_n, make, code) => {
      const input = make();
      let p: Promise<unknown> | undefined;
      if (input === 'resolver') {
        const { signed } = await signedFixture(realTools('memory')[0]!);
        p = verifySignedManifest(JSON.stringify(signed), () => {
          throw new ProtocolError('UNKNOWN_SIGNER', 'refused by the resolver');
        });
      } else expect(() => (p = verifySignedManifest(input, () => undefined))).not.toThrow();
      expect(p).toBeInstanceOf(Promise);
      await expectCode(p!, code);
    });
  });
});

describe('canonicalManifest', () => {
  const all = (['filesystem', 'everything', 'memory', 'sequential-thinking'] as const).flatMap(realTools);
  it.each(all.map((d) => [d.name, d] as const))('serialises %s as RFC 8785 does, with and without a policy', (_n, def) => {
    for (const manifest of [manifestFor(def), manifestFor(def, { policy: { language: 'cedar', policies: 'permit(principal, action, resource);', schema: { b: 1, a: [2] } } })]) {
      const { manifestBytes, definitionBytes } = canonicalManifest(manifest);
      expect(new TextDecoder().decode(manifestBytes)).toBe(canonicalize(manifest));
      expect(new TextDecoder().decode(definitionBytes)).toBe(canonicalize(manifest.definition));
    }
  });
});
