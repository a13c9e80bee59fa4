import { describe, expect, it } from 'vitest';
import { decodeSignedManifest, generateKeyPair, ProtocolError, signManifest, verifySignedManifest } from '../../protocol/index.js';
import {
  Ed25519PublicJwkSchema,
  LIMITS,
  MANIFEST_META_KEY,
  NamespaceSchema,
  ProblemSchema,
  ToolDefinitionSchema,
  type SignedManifest,
  type ToolManifest,
} from '../../schemas/index.js';
import { confusableSkeleton, findLookalike, looksAlike } from '../../protocol/index.js';
import { manifestFor, realTools } from '../helpers/manifests.js';

const key = generateKeyPair();
const base = realTools('filesystem')[0]!;
const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { n: nest(depth - 1) });

/** A signed-manifest document with one thing changed, signed so that only the schema can refuse it. */
function envelope(manifest: Record<string, unknown>, signatures?: unknown[]): unknown {
  return { manifest, signatures: signatures ?? [{ keyId: key.keyId, alg: 'EdDSA', sig: 'A'.repeat(86) }] };
}
const m = (over: Partial<ToolManifest> & Record<string, unknown> = {}) => ({ ...manifestFor(base), ...over });

const manifestRefusals: [string, Record<string, unknown>][] = [
  ['a tool name with a space', m({ definition: { ...base, name: 'read file' }, toolId: 'io.github.modelcontextprotocol/read file' })],
  ['a tool name of 129 chars', m({ definition: { ...base, name: 'a'.repeat(129) }, toolId: `io.github.modelcontextprotocol/${'a'.repeat(129)}` })],
  ['a tool name with path traversal', m({ definition: { ...base, name: '../etc' }, toolId: 'io.github.modelcontextprotocol/../etc' })],
  ['the tool name ".." (a URL path segment)', m({ definition: { ...base, name: '..' }, toolId: 'io.github.modelcontextprotocol/..' })],
  ['the tool name "."', m({ definition: { ...base, name: '.' }, toolId: 'io.github.modelcontextprotocol/.' })],
  ['an upper-case namespace', m({ provider: 'Com.Acme', toolId: `Com.Acme/${base.name}` })],
  ['a one-label namespace', m({ provider: 'acme', toolId: `acme/${base.name}` })],
  ['a non-ASCII namespace', m({ provider: 'com.acmé', toolId: `com.acmé/${base.name}` })],
  ['a tool id that does not match provider/name', m({ toolId: 'io.github.modelcontextprotocol/other' })],
  ['a version that is not semver', m({ version: '1.0' })],
  ['a version with a leading zero', m({ version: '01.0.0' })],
  ['a permission with a space', m({ permissions: ['files read'] })],
  ['a repeated permission', m({ permissions: ['a', 'a'] })],
  ['too many permissions', m({ permissions: Array.from({ length: LIMITS.maxPermissions + 1 }, (_, i) => `p${i}`) })],
  ['an issue time that is not RFC 3339 UTC', m({ issuedAt: '25/11/2026' })],
  ['an unknown manifest member', m({ extra: true })],
  ['a wrong manifest type', m({ type: 'other/v1' } as never)],
  ['an inputSchema that is not type object', m({ definition: { ...base, inputSchema: { type: 'string' } } as never })],
  ['a description longer than the limit', m({ definition: { ...base, description: 'x'.repeat(LIMITS.maxDescriptionLength + 1) } })],
  ['a definition nested deeper than the limit', m({ definition: { ...base, inputSchema: { type: 'object', properties: nest(LIMITS.maxDepth) as never } } })],
  ['a string longer than the limit', m({ definition: { ...base, inputSchema: { type: 'object', x: 'y'.repeat(LIMITS.maxStringLength + 1) } } })],
  ['a definition carrying the manifest key in _meta', m({ definition: { ...base, _meta: { [MANIFEST_META_KEY]: {} } } })],
  ['a definition with an empty _meta', m({ definition: { ...base, _meta: {} } })],
  ['a policy in an unknown language', m({ policy: { language: 'rego', policies: 'x' } as never })],
  ['a policy larger than the limit', m({ policy: { language: 'cedar', policies: 'p'.repeat(LIMITS.maxPolicyBytes + 1) } })],
];

describe('schema refusals: each limit and pattern', () => {
  it.each(manifestRefusals)('refuses %s', (_name, manifest) => {
    expect(() => decodeSignedManifest(envelope(manifest))).toThrowError(ProtocolError);
    expect(() => decodeSignedManifest(envelope(manifest))).toThrowError(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
  });

  // The one-step path measures the document while parsing and skips the schema's own walk when
  // that proves the limits: every limit must still hold there.
  it.each(manifestRefusals)('refuses %s through verifySignedManifest, from JSON text', async (_name, manifest) => {
    const text = JSON.stringify(envelope(manifest));
    await expect(verifySignedManifest(text, () => undefined)).rejects.toMatchObject({ name: 'ProtocolError', code: 'SCHEMA_INVALID' });
  });

  it.each([
    ['no signature', []],
    ['a signature that is not 64 bytes', [{ keyId: key.keyId, alg: 'EdDSA', sig: 'AAAA' }]],
    ['an algorithm other than EdDSA', [{ keyId: key.keyId, alg: 'ES256', sig: 'A'.repeat(86) }]],
    ['a key id that is not a thumbprint', [{ keyId: 'key-1', alg: 'EdDSA', sig: 'A'.repeat(86) }]],
    ['two signatures by one key', [0, 1].map(() => ({ keyId: key.keyId, alg: 'EdDSA', sig: 'A'.repeat(86) }))],
    ['more signatures than the limit', Array.from({ length: LIMITS.maxSignatures + 1 }, () => ({ keyId: key.keyId, alg: 'EdDSA', sig: 'A'.repeat(86) }))],
  ])('refuses an envelope with %s', (_name, signatures) => {
    expect(() => decodeSignedManifest(envelope(m(), signatures))).toThrowError(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
  });

  it('refuses a manifest document larger than maxManifestBytes before parsing it', () => {
    const text = JSON.stringify(envelope(m())).padEnd(LIMITS.maxManifestBytes + 1, ' ');
    expect(() => decodeSignedManifest(text)).toThrowError(expect.objectContaining({ code: 'TOO_LARGE' }));
  });

  it('refuses a definition whose canonical bytes exceed maxDefinitionBytes', async () => {
    const props = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, { description: 'd'.repeat(1000) }]));
    const big = { ...base, inputSchema: { type: 'object' as const, properties: props } };
    await expect(signManifest(manifestFor(big), [key.privateJwk])).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('reports every schema issue with its path', () => {
    try {
      decodeSignedManifest(envelope(m({ version: 'x', permissions: ['a b'] })));
      expect.unreachable();
    } catch (e) {
      const issues = (e as ProtocolError).issues.map((i) => i.path);
      expect(issues).toEqual(expect.arrayContaining(['manifest.version', 'manifest.permissions.0']));
    }
  });

  it('a valid document passes', () => {
    const doc = envelope(m()) as SignedManifest;
    expect(decodeSignedManifest(doc)).toBe(doc);
  });

  it('every real tool passes the definition schema, unknown fields kept', () => {
    for (const server of ['filesystem', 'everything', 'memory', 'sequential-thinking'] as const)
      for (const def of realTools(server)) expect(ToolDefinitionSchema.parse(def)).toEqual(def);
  });

  it.each([
    ['an RSA key', { kty: 'RSA', n: 'x', e: 'AQAB' }],
    ['an Ed448 key', { kty: 'OKP', crv: 'Ed448', x: 'A'.repeat(57) }],
    ['a 31-byte x', { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(41) }],
  ])('the JWK schema refuses %s', (_n, jwk) => {
    expect(Ed25519PublicJwkSchema.safeParse(jwk).success).toBe(false);
  });

  it('the problem schema requires a stable SCREAMING_SNAKE code', () => {
    expect(ProblemSchema.safeParse({ type: 'about:blank', title: 't', status: 400, code: 'BAD_THING' }).success).toBe(true);
    expect(ProblemSchema.safeParse({ type: 'about:blank', title: 't', status: 400, code: 'bad thing' }).success).toBe(false);
  });

  it.each(['com.acme', 'io.github.alice', 'dev.x-y.tools'])('accepts the namespace %s', (ns) => {
    expect(NamespaceSchema.safeParse(ns).success).toBe(true);
  });
});

describe('look-alike skeletons (TR39)', () => {
  it.each([
    ['Cyrillic а in a namespace', 'com.\u0430cme', 'com.acme'],
    ['case', 'Com.ACME', 'com.acme'],
    ['fullwidth letters (NFKC)', 'ｃｏｍ.acme', 'com.acme'],
    ['rn for m', 'read_file_rn', 'read_file_m'],
    ['digit one for l', 'fi1e_reader', 'file_reader'],
    ['a zero-width space', 'ac\u200Bme', 'acme'],
    ['upper case (case folded before the confusables: READ_FILE)', 'READ_FILE', 'read_file'],
    ['upper case (LIST_DIRECTORY)', 'LIST_DIRECTORY', 'list_directory'],
  ])('%s collides', (_n, a, b) => {
    expect(confusableSkeleton(a)).toBe(confusableSkeleton(b));
    expect(looksAlike(a, b)).toBe(true);
    expect(findLookalike(a, ['other', b])).toBe(b);
  });

  it.each([
    ['a capital I for l (read_fiIe)', 'read_fiIe', 'read_file'],
  ])('%s looks alike (the key with confusables mapped before case)', (_n, a, b) => {
    expect(looksAlike(a, b)).toBe(true);
    expect(findLookalike(a, ['other', b])).toBe(b);
  });

  it('distinct names do not collide, and a name is not its own look-alike', () => {
    expect(findLookalike('com.acme', ['com.acne', 'com.acme'])).toBeUndefined();
  });
});
