import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptsSignedManifest } from '../../protocol/manifest-check.js';
import { decodeSignedManifest, generateKeyPair, parseStrictJsonText, ProtocolError, verifySignedManifest } from '../../protocol/index.js';
import { jsonShape, LIMITS, MANIFEST_META_KEY, SignedManifestSchema, type JsonShape } from '../../schemas/index.js';
import { manifestFor, realTools } from '../helpers/manifests.js';

// acceptsSignedManifest may only ever accept what SignedManifestSchema accepts: it replaces zod
// on verifySignedManifest's hot path, and zod decides (and names the issues) whenever it says no.

const key = generateKeyPair();
const other = generateKeyPair();
const sigOf = (keyId: string) => ({ alg: 'EdDSA', keyId, sig: 'A'.repeat(86) });
const base = realTools('filesystem')[0]!;

type Doc = { manifest: Record<string, unknown>; signatures: unknown[] } & Record<string, unknown>;
/** A signed-manifest document (structure only: the signature bytes are not checked here). */
const doc = (over: (d: Doc) => void = () => {}, definition: object = base): Doc => {
  const d = structuredClone({ manifest: manifestFor(definition as never), signatures: [sigOf(key.keyId)] }) as unknown as Doc;
  over(d);
  return d;
};
const def = (d: Doc) => d.manifest.definition as Record<string, unknown>;

/** Parses the document's JSON text as verifySignedManifest does, with the shape the parse measured. */
function parsed(value: unknown): { value: unknown; shape: JsonShape } {
  const p = parseStrictJsonText(JSON.stringify(value));
  return { value: p.value, shape: p.shape ?? jsonShape(p.value) };
}
const fast = (value: unknown): boolean => {
  const p = parsed(value);
  return acceptsSignedManifest(p.value, p.shape);
};
const zodAccepts = (value: unknown): boolean => SignedManifestSchema.safeParse(parsed(value).value).success;

const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { n: nest(depth - 1) });

describe('acceptsSignedManifest', () => {
  describe('when the document is valid', () => {
    const all = (['filesystem', 'everything', 'memory', 'sequential-thinking'] as const).flatMap(realTools);
    it.each(all.map((d) => [d.name, d] as const))('accepts the signed manifest of the real tool %s', (_n, d) => {
      const value = doc(() => {}, d);
      expect(zodAccepts(value)).toBe(true);
      expect(fast(value)).toBe(true);
    });

    it.each([
      ['a policy with a Cedar schema', (d: Doc) => void (d.manifest.policy = { language: 'cedar', policies: 'permit(principal, action, resource);', schema: { ns: {} } })],
      ['two signatures by two keys', (d: Doc) => void d.signatures.push(sigOf(other.keyId))],
      ['icons, annotations, execution, outputSchema and _meta', (d: Doc) => {
        Object.assign(def(d), {
          icons: [{ src: 'https://x/i.png', mimeType: 'image/png', sizes: ['48x48'] }],
          annotations: { title: 'T', readOnlyHint: true, vendor: 1 },
          execution: { taskSupport: 'optional' },
          outputSchema: { type: 'object', properties: {}, required: ['a'] },
          _meta: { 'com.acme/x': 1 },
          futureField: [1, { a: null }],
        });
      }],
      ['"__proto__" members where unknown members are kept (own keys, not prototypes)', (d: Doc) => {
        for (const o of [def(d), def(d).inputSchema as object])
          Object.defineProperty(o, '__proto__', { value: { type: 'array', name: 'x' }, enumerable: true, writable: true, configurable: true });
      }],
      ['no permissions', (d: Doc) => void (d.manifest.permissions = [])],
      ['a pre-release version with build metadata', (d: Doc) => void (d.manifest.version = '1.0.0-rc.1+build.5')],
      ['fractional seconds in the issue time', (d: Doc) => void (d.manifest.issuedAt = '2024-02-29T23:59:59.123Z')],
    ])('accepts %s', (_n, over) => {
      const value = doc(over);
      expect(zodAccepts(value)).toBe(true);
      expect(fast(value)).toBe(true);
    });
  });

  // One row per rule of the schema. Each must be refused by zod, not accepted here, and refused
  // by verifySignedManifest from JSON text with SCHEMA_INVALID (before any key is looked up).
  const refusals: [string, (d: Doc) => void][] = [
    ['an envelope member besides manifest and signatures', (d) => void (d.extra = 1)],
    ['no signatures member', (d) => void delete (d as Record<string, unknown>).signatures],
    ['an empty signatures array', (d) => void (d.signatures = [])],
    ['more signatures than the limit', (d) => void (d.signatures = Array.from({ length: LIMITS.maxSignatures + 1 }, (_, i) => sigOf(`${'k'.repeat(42)}${String.fromCharCode(65 + i)}`)))],
    ['two signatures by one key', (d) => void d.signatures.push(sigOf(key.keyId))],
    ['a signature without alg', (d) => void delete (d.signatures[0] as Record<string, unknown>).alg],
    ['a signature with an extra member', (d) => void ((d.signatures[0] as Record<string, unknown>).kid = 'x')],
    ['an algorithm other than EdDSA', (d) => void ((d.signatures[0] as Record<string, unknown>).alg = 'ES256')],
    ['a key id that is not a thumbprint', (d) => void ((d.signatures[0] as Record<string, unknown>).keyId = 'key-1')],
    ['a signature of 85 characters', (d) => void ((d.signatures[0] as Record<string, unknown>).sig = 'A'.repeat(85))],
    ['a signature with a padding character', (d) => void ((d.signatures[0] as Record<string, unknown>).sig = 'A'.repeat(85) + '=')],
    ['a signature that is an array', (d) => void (d.signatures[0] = [])],
    ['a manifest that is an array', (d) => void (d.manifest = [] as never)],
    ['a manifest member besides the schema', (d) => void (d.manifest.extra = true)],
    ['a "__proto__" manifest member', (d) => void Object.defineProperty(d.manifest, '__proto__', { value: {}, enumerable: true })],
    ['no issue time', (d) => void delete d.manifest.issuedAt],
    ['a wrong manifest type', (d) => void (d.manifest.type = 'other/v1')],
    ['an issue time with an offset', (d) => void (d.manifest.issuedAt = '2026-11-25T00:00:00+01:00')],
    ['an issue time on 30 February', (d) => void (d.manifest.issuedAt = '2026-02-30T00:00:00Z')],
    ['an issue time that is a number', (d) => void (d.manifest.issuedAt = 1764028800)],
    ['a version that is not semver', (d) => void (d.manifest.version = '1.0')],
    ['a version longer than the limit', (d) => void (d.manifest.version = `1.0.0-${'a'.repeat(LIMITS.maxVersionLength)}`)],
    ['an upper-case provider', (d) => void Object.assign(d.manifest, { provider: 'Com.Acme', toolId: `Com.Acme/${base.name}` })],
    ['a provider longer than the limit', (d) => {
      const p = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(10)}`;
      Object.assign(d.manifest, { provider: p, toolId: `${p}/${base.name}` });
    }],
    ['a tool id naming another provider', (d) => void (d.manifest.toolId = `com.acme/${base.name}`)],
    ['a tool id naming another tool', (d) => void (d.manifest.toolId = 'io.github.modelcontextprotocol/other')],
    ['a tool id with the name in another case', (d) => void (d.manifest.toolId = `io.github.modelcontextprotocol/${base.name.toUpperCase()}`)],
    ['a tool id with a doubled slash', (d) => void (d.manifest.toolId = `io.github.modelcontextprotocol//${base.name}`)],
    ['a tool id that is not a string', (d) => void (d.manifest.toolId = null)],
    ['permissions that are not an array', (d) => void (d.manifest.permissions = 'files:read')],
    ['a permission with a space', (d) => void (d.manifest.permissions = ['files read'])],
    ['a permission longer than 128', (d) => void (d.manifest.permissions = ['p'.repeat(129)])],
    ['a repeated permission', (d) => void (d.manifest.permissions = ['a', 'b', 'a'])],
    ['too many permissions', (d) => void (d.manifest.permissions = Array.from({ length: LIMITS.maxPermissions + 1 }, (_, i) => `p${i}`))],
    ['a policy in an unknown language', (d) => void (d.manifest.policy = { language: 'rego', policies: 'x' })],
    ['a policy with an extra member', (d) => void (d.manifest.policy = { language: 'cedar', policies: 'x', x: 1 })],
    ['an empty policy', (d) => void (d.manifest.policy = { language: 'cedar', policies: '' })],
    ['a policy larger than the limit', (d) => void (d.manifest.policy = { language: 'cedar', policies: 'p'.repeat(LIMITS.maxPolicyBytes + 1) })],
    ['a policy schema that is an array', (d) => void (d.manifest.policy = { language: 'cedar', policies: 'x', schema: [] })],
    ['a policy that is null', (d) => void (d.manifest.policy = null)],
    ['a definition that is an array', (d) => void (d.manifest.definition = [])],
    ['a tool name with a space', (d) => void Object.assign(d.manifest, { definition: { ...def(d), name: 'read file' }, toolId: 'io.github.modelcontextprotocol/read file' })],
    ['the tool name ".."', (d) => void Object.assign(d.manifest, { definition: { ...def(d), name: '..' }, toolId: 'io.github.modelcontextprotocol/..' })],
    ['a tool name of 129 chars', (d) => void Object.assign(d.manifest, { definition: { ...def(d), name: 'a'.repeat(129) }, toolId: `io.github.modelcontextprotocol/${'a'.repeat(129)}` })],
    ['a title longer than the limit', (d) => void (def(d).title = 't'.repeat(LIMITS.maxStringLength + 1))],
    ['a title that is null', (d) => void (def(d).title = null)],
    ['a description longer than the limit', (d) => void (def(d).description = 'x'.repeat(LIMITS.maxDescriptionLength + 1))],
    ['no inputSchema', (d) => void delete def(d).inputSchema],
    ['an inputSchema that is not type object', (d) => void (def(d).inputSchema = { type: 'string' })],
    ['inputSchema properties that are an array', (d) => void (def(d).inputSchema = { type: 'object', properties: [] })],
    ['inputSchema required that is not strings', (d) => void (def(d).inputSchema = { type: 'object', required: ['a', 1] })],
    ['an outputSchema that is not type object', (d) => void (def(d).outputSchema = { type: 'array' })],
    ['annotations that are an array', (d) => void (def(d).annotations = [])],
    ['an annotation hint that is a string', (d) => void (def(d).annotations = { readOnlyHint: 'true' })],
    ['an annotations title longer than the limit', (d) => void (def(d).annotations = { title: 't'.repeat(LIMITS.maxStringLength + 1) })],
    ['icons that are an object', (d) => void (def(d).icons = { src: 'x' })],
    ['more than 32 icons', (d) => void (def(d).icons = Array.from({ length: 33 }, () => ({ src: 'x' })))],
    ['an icon without src', (d) => void (def(d).icons = [{ mimeType: 'image/png' }])],
    ['an icon with an empty src', (d) => void (def(d).icons = [{ src: '' }])],
    ['an icon mimeType longer than 255', (d) => void (def(d).icons = [{ src: 'x', mimeType: 'm'.repeat(256) }])],
    ['an icon size longer than 64', (d) => void (def(d).icons = [{ src: 'x', sizes: ['s'.repeat(65)] }])],
    ['more than 32 icon sizes', (d) => void (def(d).icons = [{ src: 'x', sizes: Array.from({ length: 33 }, () => '1x1') }])],
    ['an execution taskSupport outside the enum', (d) => void (def(d).execution = { taskSupport: 'sometimes' })],
    ['an execution that is a string', (d) => void (def(d).execution = 'forbidden')],
    ['a definition carrying the manifest key in _meta', (d) => void (def(d)._meta = { [MANIFEST_META_KEY]: {} })],
    ['a definition with an empty _meta', (d) => void (def(d)._meta = {})],
    ['a _meta that is an array', (d) => void (def(d)._meta = [1])],
    ['a definition nested deeper than the limit', (d) => void (def(d).inputSchema = { type: 'object', properties: nest(LIMITS.maxDepth) })],
    ['a string longer than the limit', (d) => void (def(d).inputSchema = { type: 'object', x: 'y'.repeat(LIMITS.maxStringLength + 1) })],
    ['a key longer than the limit', (d) => void (def(d).inputSchema = { type: 'object', ['k'.repeat(LIMITS.maxStringLength + 1)]: 1 })],
  ];

  describe('when one rule of the schema is broken', () => {
    it.each(refusals)('does not accept %s, nor does zod', (_n, over) => {
      const value = doc(over);
      expect(zodAccepts(value)).toBe(false);
      expect(fast(value)).toBe(false);
    });

    it.each(refusals)('decodeSignedManifest refuses %s from JSON text with SCHEMA_INVALID', (_n, over) => {
      const text = JSON.stringify(doc(over));
      expect(() => decodeSignedManifest(text)).toThrowError(ProtocolError);
      expect(() => decodeSignedManifest(text)).toThrowError(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
    });

    it.each(refusals)('verifySignedManifest refuses %s with SCHEMA_INVALID before any key lookup', async (_n, over) => {
      let looked = false;
      const p = verifySignedManifest(JSON.stringify(doc(over)), () => ((looked = true), undefined));
      await expect(p).rejects.toBeInstanceOf(ProtocolError);
      await expect(p).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      expect(looked).toBe(false);
    });
  });

  describe('when documents are mutated at random', () => {
    // Values near every rule's edge, and of every JSON type.
    const pool: unknown[] = [
      null, true, false, 0, 1, -1, 1.5, '', 'x', 'object', 'cedar', 'EdDSA', 'forbidden', '1.0.0', '01.0.0', 'com.acme',
      'io.github.modelcontextprotocol', base.name, `io.github.modelcontextprotocol/${base.name}`, 'files:read', 'a b',
      '2026-11-25T00:00:00Z', '2026-11-25T00:00:00', key.keyId, 'A'.repeat(86), 'A'.repeat(87), 'a'.repeat(129),
      't'.repeat(LIMITS.maxDescriptionLength + 1), 'm'.repeat(256), 's'.repeat(65), MANIFEST_META_KEY,
      [], [1], ['x'], ['a', 'a'], {}, { type: 'object' }, { type: 'string' }, { src: 'x' }, { src: '' }, { [MANIFEST_META_KEY]: 1 },
      { language: 'cedar', policies: 'x' }, sigOf(key.keyId), sigOf(other.keyId), nest(LIMITS.maxDepth), nest(3),
    ];
    const names = ['type', 'toolId', 'version', 'provider', 'definition', 'permissions', 'policy', 'issuedAt', 'name', 'title',
      'description', 'inputSchema', 'outputSchema', 'annotations', 'icons', 'execution', '_meta', 'properties', 'required',
      'readOnlyHint', 'src', 'mimeType', 'sizes', 'taskSupport', 'keyId', 'alg', 'sig', 'language', 'policies', 'schema',
      'manifest', 'signatures', 'other', '__proto__'];
    // Every container of a rich valid document, by path.
    const rich = doc((d) => {
      d.manifest.policy = { language: 'cedar', policies: 'x', schema: { a: {} } };
      d.signatures.push(sigOf(other.keyId));
      Object.assign(def(d), {
        icons: [{ src: 'x', sizes: ['1x1'] }],
        annotations: { title: 'T', readOnlyHint: true },
        execution: { taskSupport: 'optional' },
        outputSchema: { type: 'object', required: ['a'] },
        _meta: { 'com.acme/x': 1 },
      });
    });
    const containers: (string | number)[][] = [];
    (function collect(v: unknown, path: (string | number)[]): void {
      if (v === null || typeof v !== 'object') return;
      containers.push(path);
      for (const [k, c] of Object.entries(v)) collect(c, [...path, Array.isArray(v) ? Number(k) : k]);
    })(rich, []);

    const mutation = fc.record({
      at: fc.nat({ max: containers.length - 1 }),
      op: fc.constantFrom('set', 'delete', 'add'),
      name: fc.constantFrom(...names),
      index: fc.nat({ max: 40 }),
      value: fc.oneof(fc.constantFrom(...pool), fc.jsonValue({ maxDepth: 2 })),
    });

    it('never accepts a document zod refuses, and accepts what it accepts unless a limit is measured on the whole document', () => {
      let accepted = 0;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
          const value = structuredClone(rich) as unknown;
          for (const m of mutations) {
            let target = value as Record<string | number, unknown>;
            for (const step of containers[m.at]!) {
              const next = target?.[step];
              if (next === null || typeof next !== 'object') return;
              target = next as Record<string | number, unknown>;
            }
            const keys = Object.keys(target);
            const k = m.op === 'add' ? (Array.isArray(target) ? target.length : m.name) : keys[m.index % Math.max(1, keys.length)];
            if (k === undefined) return;
            if (m.op === 'delete') {
              if (Array.isArray(target)) target.splice(Number(k), 1);
              else delete target[k];
            } else if (k === '__proto__') Object.defineProperty(target, k, { value: m.value, enumerable: true, writable: true, configurable: true });
            else target[k] = m.value;
          }
          const p = parsed(value);
          const byZod = SignedManifestSchema.safeParse(p.value).success;
          const byFast = acceptsSignedManifest(p.value, p.shape);
          if (byFast) {
            accepted++;
            expect(byZod).toBe(true);
          }
          // The other way only where the document's own measure is within the definition's limits.
          if (byZod && p.shape.depth <= LIMITS.maxDepth && p.shape.longestString <= LIMITS.maxStringLength && !JSON.stringify(value).includes('"__proto__"'))
            expect(byFast).toBe(true);
        }),
        { numRuns: 4000 },
      );
      expect(accepted).toBeGreaterThan(100); // the property was not vacuous
    });
  });
});
