import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  decodeSignedManifest,
  definitionDigest,
  digestOf,
  generateKeyPair,
  jwkThumbprint,
  parseStrictJsonText,
  ProtocolError,
  signManifest,
  utf8,
  verifyManifestSignature,
  verifySignedManifest,
  type KeyResolver,
  type ManifestClaims,
} from '../../protocol/index.js';
import { jsonShape, LIMITS, type Ed25519PublicJwk, type JsonValue, type ToolDefinition } from '../../schemas/index.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';
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

/** What the fast path leaves to the canonicaliser: fractions, big numbers, index keys, "__proto__". */
const hard = (v: JsonValue): boolean => {
  if (typeof v === 'number') return !Number.isSafeInteger(v);
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hard);
  return Object.keys(v).some((k) => /^(?:0|[1-9]\d{0,9})$/.test(k) || k === '__proto__' || hard(v[k]!));
};

describe('parseStrictJsonText', () => {
  describe('when the text is canonical', () => {
    it.each([
      ['an object in key order', '{"a":1,"b":[true,false,null,"x"]}'],
      ['the escapes JSON.stringify writes', '["\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u000b\\u001f"]'],
      ['raw characters JSON.stringify leaves alone', '["/\u007f\u2028é\u{1F600}"]'],
      ['the largest safe integer', '[9007199254740991,-9007199254740991,0]'],
      ['empty containers', '{"":{},"a":[]}'],
      ['a scalar', '"x"'],
    ])('says so for %s', (_name, text) => {
      const r = parseStrictJsonText(text);
      expect(r.canonical).toBe(true);
      expect(r.stringified).toBe(true);
      expect(canonicalize(r.value)).toBe(text);
    });
  });

  describe('when the text is not canonical (or not provably so)', () => {
    it.each([
      ['whitespace', '{"a": 1}'],
      ['a trailing newline', '{"a":1}\n'],
      ['an escaped solidus', '["\\/"]'],
      ['a letter written as \\u', '["\\u0041"]'],
      ['a control written in upper-case hex', '["\\u001F"]'],
      ['a newline written as \\u000a', '["\\u000a"]'],
      ['an escaped surrogate pair (JCS writes it raw)', '["\\ud83d\\ude00"]'],
      ['minus zero', '[-0]'],
      ['an integer with a fraction', '[1.0]'],
      ['an integer with an exponent', '[1e2]'],
      ['a round integer with a shorter exponent, whitespace making up the length', '[1e6    ]'],
      ['a negative round integer with an exponent and a space', '{"a":-1e3 }'],
      ['an upper-case exponent of the same length', '{"a":1E2}'],
      ['a fraction, even a canonical one', '[0.5]'],
      ['2^53, exact but beyond the safe range', '[9007199254740992]'],
      ['keys out of order', '{"b":1,"a":2}'],
      ['array-index keys, which V8 enumerates first', '{"b":1,"1":2}'],
      ['array-index keys in code-unit order', '{"10":1,"9":2}'],
      ['a "__proto__" key', '{"__proto__":1}'],
    ])('says no for %s', (_name, text) => {
      const r = parseStrictJsonText(text);
      expect(r.canonical).toBe(false);
      expect(r.value).toStrictEqual(JSON.parse(text));
    });

    it('knows, for every ASCII character in every escape, whether JSON.stringify writes it so', () => {
      const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '/': '\\/' };
      let canonical = 0;
      for (let c = 0; c < 0x80; c++) {
        const ch = String.fromCharCode(c);
        const hex = c.toString(16).padStart(4, '0');
        const spellings = new Set([`\\u${hex}`, `\\u${hex.toUpperCase()}`, ...(short[ch] ? [short[ch]] : []), ...(c >= 0x20 && ch !== '"' && ch !== '\\' ? [ch] : [])]);
        for (const spelling of spellings) {
          const text = `["${spelling}"]`;
          const r = parseStrictJsonText(text);
          expect(r.value).toStrictEqual([ch]);
          expect(r.canonical).toBe(text === JSON.stringify([ch]));
          if (r.canonical) canonical++;
        }
      }
      expect(canonical).toBe(0x80);
    });

    it('calls keys out of order stringified, but not canonical', () => {
      const r = parseStrictJsonText('{"b":1,"a":{"d":[1,"x"],"c":null}}');
      expect(r).toMatchObject({ canonical: false, stringified: true });
    });

    it.each([
      ['a duplicate key', '{"a":1,"a":2}', 'DUPLICATE_KEY'],
      ['a duplicate key in canonical spelling and order', '{"a":{"b":1,"b":1}}', 'DUPLICATE_KEY'],
      ['a lone surrogate, raw', '["\uD800"]', 'LONE_SURROGATE'],
      ['a 16-digit integer beyond 2^53', '[9007199254740993]', 'NUMBER_OUT_OF_RANGE'],
      ['a duplicate whose dropped value is all escapes', '{"a":"\\n\\u0001\\\\","a":1}', 'DUPLICATE_KEY'],
      ['a duplicate of the shortest member', '{"":0,"":0}', 'DUPLICATE_KEY'],
      ['a duplicate inside an array', '[1,{"a":[],"a":[]}]', 'DUPLICATE_KEY'],
      ['a duplicate array-index key', '{"1":true,"1":true}', 'DUPLICATE_KEY'],
      ['a duplicate made up for by a round integer written with an exponent', '{"a":1,"a":1e8}', 'DUPLICATE_KEY'],
      ['a duplicate made up for by two round integers', '{"b":0,"b":[1e5,1e4]}', 'DUPLICATE_KEY'],
    ])('still refuses %s', (_name, text, code) => {
      expect(() => parseStrictJsonText(text)).toThrowError(ProtocolError);
      expect(() => parseStrictJsonText(text)).toThrowError(expect.objectContaining({ code }));
    });

    it.each([
      ['a long run of digits', '[' + '1'.repeat(60_000) + 'x'],
      ['many numbers, the last one bad', '[' + '1,'.repeat(30_000) + '01]'],
      ['many escapes, the last one bad', '["' + '\\n'.repeat(30_000) + '\\x"]'],
      ['deep nesting', '['.repeat(30_000) + ']'.repeat(30_000)],
    ])('stays linear on hostile text: %s', (_name, text) => {
      // A backtracking blow-up would hang here; the parser's own verdict is what matters.
      expect(() => parseStrictJsonText(text)).toThrowError(ProtocolError);
    });
  });

  describe('properties', () => {
    it('whenever it says canonical, the text is canonicalize(value) byte for byte; stringified, JSON.stringify(value)', () => {
      const seen = { canonical: 0, stringifiedOnly: 0, neither: 0 };
      fc.assert(
        fc.property(jsonValues, fc.constantFrom(0, 0, 0.03, 0.3, 1), fc.integer(), fc.boolean(), (v, p, seed, onlyOrder) => {
          const text = spell(v, p, seed, onlyOrder);
          const r = parseStrictJsonText(text);
          expect(r.value).toStrictEqual(JSON.parse(text));
          if (r.canonical) expect(text).toBe(canonicalize(r.value));
          if (r.stringified) expect(text).toBe(JSON.stringify(r.value));
          // The shape measured on the way is the schema's own measure.
          if (r.shape !== undefined) expect(r.shape).toEqual(jsonShape(r.value));
          if (r.canonical) seen.canonical++;
          else if (r.stringified) seen.stringifiedOnly++;
          else seen.neither++;
        }),
        { numRuns: 1500 },
      );
      // The property is not vacuous: every branch was taken.
      expect(seen.canonical).toBeGreaterThan(50);
      expect(seen.neither).toBeGreaterThan(50);
    });

    it('with keys out of order and nothing else, says stringified, and canonical exactly when the order is JCS', () => {
      const objects = fc.dictionary(fc.string({ maxLength: 6 }), jsonValues, { minKeys: 2, maxKeys: 6 }).filter((o) => !hard(o));
      fc.assert(
        fc.property(objects, fc.integer(), (v, seed) => {
          const text = spell(v, 1, seed, true);
          const r = parseStrictJsonText(text);
          expect(r.stringified).toBe(true);
          expect(text).toBe(JSON.stringify(r.value));
          expect(r.canonical).toBe(text === canonicalize(r.value));
        }),
        { numRuns: 300 },
      );
    });

    // The length count alone proves a text canonical unless an integer ends in two or more zeros:
    // only such an integer can be spelled, with an exponent, in no more characters than its
    // digits. Here exactly the characters saved so are spent on whitespace or on a duplicate.
    it('is not fooled by round integers written with an exponent, whatever makes up the length', () => {
      const ints = fc.oneof(
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.tuple(fc.integer({ min: -90_000, max: 90_000 }), fc.integer({ min: 2, max: 11 })).map(([n, k]) => n * 10 ** k),
      );
      let padded = 0;
      fc.assert(
        fc.property(fc.array(ints, { minLength: 1, maxLength: 6 }), fc.constantFrom('spaces', 'duplicate'), fc.nat(), (xs, fill, at) => {
          let saved = 0;
          const tokens = xs.map((n) => {
            const canonical = JSON.stringify(n);
            if (n === 0 || n % 100 !== 0) return canonical;
            const short = shortExponent(n);
            saved += canonical.length - short.length;
            return short;
          });
          let text: string;
          if (fill === 'duplicate' && saved >= 6) {
            // `"a":9,` or `"a":"xx",` dropped by JSON.parse: exactly `saved` characters
            const dropped = saved === 6 ? '9' : `"${'x'.repeat(saved - 7)}"`;
            text = `{"a":${dropped},"a":[${tokens.join(',')}]}`;
            expect(() => parseStrictJsonText(text)).toThrowError(expect.objectContaining({ code: 'DUPLICATE_KEY' }));
            padded++;
            return;
          }
          const body = tokens.join(',');
          const cut = body.indexOf(',', at % (body.length + 1));
          text = cut === -1 ? `{"a":[${body}${' '.repeat(saved)}]}` : `{"a":[${body.slice(0, cut)}${' '.repeat(saved)}${body.slice(cut)}]}`;
          const r = parseStrictJsonText(text);
          expect(r.value).toStrictEqual({ a: xs.map((n) => n + 0) }); // -0 is 0 in the value
          expect(r.canonical).toBe(text === canonicalize(r.value));
          expect(r.stringified).toBe(text === JSON.stringify(r.value));
          if (saved > 0) padded++;
        }),
        { numRuns: 600 },
      );
      expect(padded).toBeGreaterThan(100);
    });

    it('takes the fast path for what canonicalize writes, unless a fraction, an index key or "__proto__" is in it', () => {
      fc.assert(
        fc.property(jsonValues, (v) => {
          if (!hard(v)) expect(parseStrictJsonText(canonicalize(v)).canonical).toBe(true);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('with the RFC 8785 reference vectors', () => {
    const vectors = readdirSync(fixturePath('jcs/output')).filter((f) => f.endsWith('.json'));
    it.each(vectors)('%s: the expected output, parsed, canonicalises to itself, and a canonical verdict agrees', (file) => {
      const expected = readFixture(`jcs/output/${file}`).replace(/\n$/, '');
      const r = parseStrictJsonText(utf8(expected));
      expect(canonicalize(r.value)).toBe(expected);
      if (r.canonical) expect(r.text).toBe(expected);
      const input = parseStrictJsonText(readFixture(`jcs/input/${file}`));
      expect(canonicalize(input.value)).toBe(expected);
    });
  });

  it('refuses a byte order mark in bytes as in text', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
    expect(() => parseStrictJsonText(bytes)).toThrowError(expect.objectContaining({ name: 'ProtocolError', code: 'INVALID_JSON' }));
  });
});

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

  it('slices non-ASCII text at the right bytes (string and bytes input)', async () => {
    const def: ToolDefinition = {
      name: 'unicode',
      description: 'é \u{1F600} \u2028 "quoted" \\ \u0001',
      inputSchema: { type: 'object', properties: { 'ключ': { type: 'string', default: '日本' } } },
    };
    const { signed } = await signedFixture(def, key);
    const text = JSON.stringify(signed);
    expect(parseStrictJsonText(text).canonical).toBe(true);
    for (const input of [text, utf8(text)]) {
      const v = await verifySignedManifest(input, only(key.publicJwk));
      expect(v.definitionDigest).toBe(definitionDigest(def));
      expect(v.manifestDigest).toBe(digestOf(signed.manifest));
    }
  });

  it.each([
    ['without a policy', undefined],
    ['with a policy', { language: 'cedar' as const, policies: 'permit(principal, action, resource);' }],
    [
      'with a policy whose schema spells the boundaries',
      { language: 'cedar' as const, policies: 'forbid(principal, action, resource);', schema: { a: 1, issuedAt: '2026-11-25T00:00:00Z', signatures: [{ issuedAt: 'x' }], z: ',"signatures":[' } },
    ],
  ])('finds the right boundaries when the definition spells them too (%s)', async (_name, policy) => {
    const def = {
      name: 'boundaries',
      description: ',"issuedAt":"2026-11-25T00:00:00Z","permissions":[] ,"signatures":[',
      inputSchema: {
        type: 'object',
        properties: { a: { type: 'string' }, issuedAt: { type: 'string', default: '2026-11-25T00:00:00Z' }, signatures: { type: 'array', items: [] } },
      },
      _meta: { a: 1, issuedAt: 'x', signatures: [] },
    } as ToolDefinition;
    const signed = await signManifest(manifestFor(def, policy === undefined ? {} : { policy }), [key.privateJwk]);
    const text = JSON.stringify(signed);
    expect(parseStrictJsonText(text).canonical).toBe(true);
    expect(text.split(',"issuedAt":"').length).toBeGreaterThan(2);
    expect(text.split(',"signatures":[').length).toBeGreaterThan(2);
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
    expect(parseStrictJsonText(text).shape!.depth).toBeGreaterThan(LIMITS.maxDepth);
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
