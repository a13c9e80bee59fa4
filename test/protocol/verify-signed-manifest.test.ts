import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  decodeSignedManifest,
  definitionDigest,
  digestOf,
  generateKeyPair,
  jwkThumbprint,
  ProtocolError,
  signManifest,
  utf8,
  verifyManifestSignature,
  verifySignedManifest,
  type KeyResolver,
  type ManifestClaims,
} from '../../protocol/index.js';
import { LIMITS, type Ed25519PublicJwk, type JsonValue, type ToolDefinition } from '../../schemas/index.js';
import { manifestFor, realTools, signedFixture } from '../helpers/manifests.js';

/**
 * A JSON writer that spells a value canonically, or (with probability `p` at each choice)
 * in one of the other spellings JSON allows: whitespace, \u escapes in either case, \/,
 * other number forms (1.0, 1e0, 1E+0, -0), and keys out of order. `p = 0` writes JCS;
 * `onlyOrder` changes nothing but the order of keys.
 */
function spell(value: JsonValue, p: number, seed: number, onlyOrder = false): string {
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const maybe = (order = false): boolean => (order || !onlyOrder) && p > 0 && rnd() < p;
  const ws = (): string => (maybe() ? [' ', '\n', '\t', '\r\n  '][Math.floor(rnd() * 4)]! : '');
  const hex4 = (u: number): string => {
    const h = u.toString(16).padStart(4, '0');
    return rnd() < 0.5 ? h : h.toUpperCase();
  };
  const str = (text: string): string => {
    let out = '"';
    for (const ch of text) {
      if (maybe()) {
        if (ch === '/') out += '\\/';
        else for (let i = 0; i < ch.length; i++) out += '\\u' + hex4(ch.charCodeAt(i));
      } else out += JSON.stringify(ch).slice(1, -1);
    }
    return out + '"';
  };
  const num = (n: number): string => {
    if (!maybe()) return JSON.stringify(n);
    if (Number.isSafeInteger(n)) {
      if (n === 0) return ['-0', '0.0', '0e5'][Math.floor(rnd() * 3)]!;
      const forms = [`${n}.0`, `${n}e0`, `${n}E+0`, `${n}0e-1`];
      if (n % 100 === 0) forms.push(shortExponent(n)); // no longer than the canonical digits
      return forms[Math.floor(rnd() * forms.length)]!;
    }
    return n.toExponential();
  };
  const write = (v: JsonValue): string => {
    if (v === null) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return num(v);
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return '[' + ws() + v.map((x) => write(x) + ws()).join(',' + ws()) + ']';
    const keys = Object.keys(v).sort();
    if (maybe(true)) keys.reverse();
    return '{' + ws() + keys.map((k) => str(k) + ws() + ':' + ws() + write(v[k]!) + ws()).join(',' + ws()) + '}';
  };
  return ws() + write(value) + ws();
}

/** An integer ending in zeros, spelled with the fewest characters an exponent allows: 1e2 for 100, -25e3 for -25000. */
function shortExponent(n: number): string {
  let m = n;
  let zeros = 0;
  while (m !== 0 && m % 10 === 0) {
    m /= 10;
    zeros++;
  }
  return `${m}e${zeros}`;
}

/** Any JSON value: unicode strings (well-formed), keys that may be array indexes or "__proto__". */
const jsonValues = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1e9, max: 1e9 }),
    fc.tuple(fc.integer({ min: -90_000, max: 90_000 }), fc.integer({ min: 1, max: 11 })).map(([n, k]) => n * 10 ** k),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('a', '/', '"', '\\', '\n', '\u0001', '\u001f', '\u007f', 'é', '\u{1F600}', ':'), maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('0', '1', '10', '9', '__proto__', 'a', 'b', 'B', '\u{1F600}', 'é')),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
})).value;


const only =
  (jwk: Ed25519PublicJwk): KeyResolver =>
  (id) =>
    id === jwkThumbprint(jwk) ? jwk : undefined;

describe('verifySignedManifest', () => {
  const key = generateKeyPair();

  /** What the two-step path (decode, then verify) answers for the same input. */
  const twoStep = async (input: unknown) => verifyManifestSignature(decodeSignedManifest(input), only(key.publicJwk));

  describe('with every real tool of the reference servers, in every spelling', () => {
    const all = (['filesystem', 'everything', 'memory', 'sequential-thinking'] as const).flatMap(realTools);
    it.each(all.map((d) => [d.name, d] as const))('%s', async (_n, def) => {
      const { signed } = await signedFixture(def, key);
      const reordered = {
        signatures: signed.signatures.map((s) => ({ sig: s.sig, keyId: s.keyId, alg: s.alg })),
        manifest: signed.manifest,
      };
      const unorderedSigs = { manifest: signed.manifest, signatures: reordered.signatures };
      const spellings: unknown[] = [
        JSON.stringify(signed),
        utf8(JSON.stringify(signed)),
        JSON.stringify(signed, null, 2),
        JSON.stringify(reordered),
        JSON.stringify(unorderedSigs),
        utf8(JSON.stringify(unorderedSigs)),
        signed,
      ];
      for (const input of spellings) {
        const one = await verifySignedManifest(input, only(key.publicJwk));
        const two = await twoStep(input);
        expect(one).toStrictEqual(two);
        expect(one.definitionDigest).toBe(definitionDigest(def));
        expect(one.manifestDigest).toBe(digestOf(signed.manifest));
      }
    });
  });

  it('verifies non-ASCII text (string and bytes input)', async () => {
    const def: ToolDefinition = {
      name: 'unicode',
      description: 'é \u{1F600} \u2028 "quoted" \\ \u0001',
      inputSchema: { type: 'object', properties: { 'ключ': { type: 'string', default: '日本' } } },
    };
    const { signed } = await signedFixture(def, key);
    const text = JSON.stringify(signed);
    for (const input of [text, utf8(text)]) {
      const v = await verifySignedManifest(input, only(key.publicJwk));
      expect(v.definitionDigest).toBe(definitionDigest(def));
      expect(v.manifestDigest).toBe(digestOf(signed.manifest));
    }
  });

  it('verifies a shallow definition in a document that nests deeper than the definition limit elsewhere', async () => {
    const nest = (depth: number): JsonValue => (depth === 0 ? 'leaf' : { n: nest(depth - 1) });
    const policy = { language: 'cedar' as const, policies: 'permit(principal, action, resource);', schema: { deep: nest(LIMITS.maxDepth + 5) } };
    const def = realTools('memory')[0]!;
    const signed = await signManifest(manifestFor(def, { policy }), [key.privateJwk]);
    const text = JSON.stringify(signed);
    const v = await verifySignedManifest(text, only(key.publicJwk));
    expect(v.definitionDigest).toBe(definitionDigest(def));
  });

  it('verifies a definition whose keys V8 would reorder (array-index keys), through the canonicaliser', async () => {
    const def = { name: 'indexed', inputSchema: { type: 'object', properties: { b: {}, 10: {}, 9: {} } } } as ToolDefinition;
    const { signed } = await signedFixture(def, key);
    // JSON.stringify writes 9, 10, b (V8's order); JCS signs 10, 9, b; a sender may write b, 10, 9.
    const text = JSON.stringify(signed);
    expect(text).toContain('{"9":{},"10":{},"b":{}}');
    for (const spelled of [text, text.replace('{"9":{},"10":{},"b":{}}', '{"b":{},"10":{},"9":{}}'), canonicalize(signed)]) {
      const v = await verifySignedManifest(spelled, only(key.publicJwk));
      expect(v.definitionDigest).toBe(definitionDigest(def));
      expect(v.manifestDigest).toBe(digestOf(signed.manifest));
    }
  });

  it('gives the resolver copies of the claims, and lets its refusal through unchanged', async () => {
    const { signed } = await signedFixture(realTools('memory')[0]!, key);
    const seen: ManifestClaims[] = [];
    await verifySignedManifest(JSON.stringify(signed), (id, claims) => {
      seen.push(claims);
      return id === key.keyId ? key.publicJwk : undefined;
    });
    expect(seen).toEqual([
      { toolId: signed.manifest.toolId, version: '1.0.0', provider: signed.manifest.provider, issuedAt: signed.manifest.issuedAt },
    ]);
    const refusal = new Error('namespace not registered');
    await expect(
      verifySignedManifest(JSON.stringify(signed), () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
  });

  describe('when the input is an attack', () => {
    const def = realTools('filesystem')[0]!;
    const other = generateKeyPair();
    const cases: [string, (text: string) => string | Uint8Array, string][] = [
      ['a changed description, canonical spelling kept', (t) => t.replace('"description":"', '"description":"X'), 'BAD_SIGNATURE'],
      ['a changed permission', (t) => t.replace('"files:read"', '"files:write"'), 'BAD_SIGNATURE'],
      ['a definition member added after signing', (t) => t.replace('{"definition":{', '{"definition":{"_extra":1,'), 'BAD_SIGNATURE'],
      ['a duplicate key that JSON.parse would let win', (t) => t.replace('"version":"1.0.0"', '"version":"1.0.0","version":"9.0.0"'), 'DUPLICATE_KEY'],
      ['a duplicate definition member, spelt canonically', (t) => t.replace('{"definition":{', '{"definition":{"name":"evil",'), 'DUPLICATE_KEY'],
      ['a changed version (the manifest\'s last member)', (t) => t.replace('"1.0.0"}', '"2.0.0"}'), 'BAD_SIGNATURE'],
      ['an unknown manifest member', (t) => t.replace('"version":"1.0.0"', '"version":"1.0.0","x":1'), 'SCHEMA_INVALID'],
      ['a lone surrogate in the description', (t) => t.replace('"description":"', '"description":"\\ud800'), 'LONE_SURROGATE'],
      ['a byte order mark', (t) => utf8('\uFEFF' + t), 'INVALID_JSON'],
      ['a document over the size limit', (t) => t.replace('"description":"', `"description":"${' '.repeat(70_000)}`), 'TOO_LARGE'],
    ];
    it.each(cases)('refuses %s, as the two-step path does', async (_name, change, code) => {
      const { signed } = await signedFixture(def, key);
      const input = change(JSON.stringify(signed));
      const one = verifySignedManifest(input, only(key.publicJwk));
      await expect(one).rejects.toBeInstanceOf(ProtocolError);
      await expect(one).rejects.toMatchObject({ code });
      await expect(twoStep(input)).rejects.toMatchObject({ code });
    });

    it.each([
      ['a signer nobody trusts', () => undefined, 'UNKNOWN_SIGNER'],
      ['a resolver that hands out another key for the key id', () => other.publicJwk, 'INVALID_KEY'],
    ])('refuses %s', async (_name, resolver, code) => {
      const { signed } = await signedFixture(def, key);
      await expect(verifySignedManifest(JSON.stringify(signed), resolver)).rejects.toMatchObject({ code });
    });
  });

  describe('properties', () => {
    const definitions = fc.record({
      name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/).filter((n) => n !== '.' && n !== '..'),
      description: fc.string({ unit: 'grapheme', maxLength: 100 }),
      inputSchema: fc.record({ type: fc.constant('object' as const), properties: fc.dictionary(fc.string({ maxLength: 6 }), jsonValues, { maxKeys: 4 }) }),
    });

    it('in any spelling of a signed manifest, the digests are those of the signed values', async () => {
      await fc.assert(
        fc.asyncProperty(definitions, fc.constantFrom(0, 0, 0.02, 0.2), fc.integer(), async (def, p, seed) => {
          const signed = await signManifest(manifestFor(def as ToolDefinition), [key.privateJwk]);
          const text = spell(signed as unknown as JsonValue, p, seed);
          const v = await verifySignedManifest(seed % 2 === 0 ? text : utf8(text), only(key.publicJwk));
          expect(v.manifestDigest).toBe(digestOf(signed.manifest));
          expect(v.definitionDigest).toBe(definitionDigest(def));
        }),
        { numRuns: 150 },
      );
    });

    it('any single changed character of canonical text makes verification fail', async () => {
      const { signed } = await signedFixture(realTools('filesystem')[2]!, key);
      const text = JSON.stringify(signed);
      const manifestEnd = text.indexOf(',"signatures":');
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: manifestEnd - 1 }), fc.integer({ min: 1, max: 94 }), async (at, delta) => {
          const c = String.fromCharCode(0x20 + ((text.charCodeAt(at) - 0x20 + delta) % 95));
          const changed = text.slice(0, at) + c + text.slice(at + 1);
          await expect(verifySignedManifest(changed, only(key.publicJwk))).rejects.toBeInstanceOf(ProtocolError);
        }),
        { numRuns: 200 },
      );
    });
  });
});
