/**
 * SEP-3140's own examples (test/fixtures/sep3140, copied from the SEP's text) as vectors where
 * they are complete, and the round trips of the primitives (protocol/sep3140.ts): a manifest
 * signed then verified passes, any change to its bytes or its signature fails. node:crypto is
 * the second implementation of the content hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeclarationsCapabilitySchema,
  DeclarationsJwsHeaderSchema,
  ProtectedResourceMetadataSchema,
  SignedDeclarationsManifestSchema,
  type DeclarationsManifest,
} from '../../schemas/index.js';
import {
  ProtocolError,
  canonicalize,
  contentHashOf,
  decodeSignedDeclarations,
  digestOfContentHash,
  fromBase64Url,
  fromUtf8,
  generateKeyPair,
  jwkThumbprint,
  signDeclarationsManifest,
  verifyDeclarationsSignature,
} from '../../protocol/index.js';
import { decodeTrustLabels, protectedResourceMetadataUrl } from '../../client-verifier/index.js';

const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../fixtures/sep3140/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe("SEP-3140's examples", () => {
  it('capability negotiation: declarations.signed and labels', () => {
    const { capabilities } = fixture('capabilities.json') as { capabilities: { declarations: unknown } };
    expect(DeclarationsCapabilitySchema.parse(capabilities.declarations)).toEqual({ signed: true, labels: true });
  });

  it('per-declaration integrity: the JCS bytes of the declaration without contentHash, and their SHA-256 (node:crypto agrees)', () => {
    const declaration = fixture('declaration.json');
    const { contentHash: _elided, ...hashed } = declaration;
    const jcs = '{"description":"Permanently deletes the named resource.","inputSchema":{"properties":{"id":{"type":"string"}},"required":["id"],"type":"object"},"name":"delete_resource","title":"Delete a resource","version":"3"}';
    expect(canonicalize(hashed)).toBe(jcs);
    const expected = `sha256-${createHash('sha256').update(jcs, 'utf8').digest('base64url')}`;
    expect(contentHashOf(declaration)).toBe(expected); // the elided contentHash member is left out
    expect(contentHashOf(hashed)).toBe(expected);
    expect(digestOfContentHash(expected)).toBe(`sha256:${createHash('sha256').update(jcs, 'utf8').digest('hex')}`);
  });

  it('the signed manifest: its JWS protected header is complete ({"alg":"EdDSA","kid":"pub-1"}); its elided values are refused, not guessed', () => {
    const example = fixture('manifest.json') as { signature: string };
    const header = JSON.parse(fromUtf8(fromBase64Url(example.signature.slice(0, example.signature.indexOf('.'))))) as unknown;
    expect(DeclarationsJwsHeaderSchema.parse(header)).toEqual({ alg: 'EdDSA', kid: 'pub-1' });
    const result = SignedDeclarationsManifestSchema.safeParse(example);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['manifest.tools.0.contentHash', 'signature']);
  });

  it('the manifest example with its elisions completed decodes: the shape is the SEP\'s', () => {
    const example = fixture('manifest.json') as { manifest: DeclarationsManifest };
    const hash = contentHashOf(fixture('declaration.json'));
    const completed = { manifest: { ...example.manifest, tools: [{ ...example.manifest.tools[0]!, contentHash: hash }] }, signature: 'eyJhbGciOiJFZERTQSIsImtpZCI6InB1Yi0xIn0..c2ln' };
    expect(decodeSignedDeclarations(completed).manifest.publisher).toBe('https://publisher.example/mcp-publisher.json');
  });

  it('discovery: the metadata describes the server it is found for (RFC 9728 section 3.1 path)', () => {
    const metadata = ProtectedResourceMetadataSchema.parse(fixture('protected-resource-metadata.json'));
    expect(protectedResourceMetadataUrl(metadata.resource).href).toBe('https://mcp.example.com/.well-known/oauth-protected-resource/mcp');
    expect(metadata.mcp_signing_jwks_uri).toBe('https://publisher.example/.well-known/jwks.json');
  });

  it('trust labels: every value of the example is in the vocabulary', () => {
    const { trust } = fixture('trust.json');
    expect(decodeTrustLabels(trust)).toEqual({
      labels: { effect: 'destructive', egress: 'external', dataSensitivity: 'confidential', reversible: false, idempotent: false },
      declared: ['effect', 'egress', 'dataSensitivity', 'reversible', 'idempotent'],
      unknown: [],
    });
  });
});

describe('trust labels outside the vocabulary', () => {
  it.each([
    ['an unknown effect', { effect: 'mostly-harmless' }, 'effect="mostly-harmless"'],
    ['an unknown egress', { egress: 'somewhere' }, 'egress="somewhere"'],
    ['a sensitivity in another case', { dataSensitivity: 'Secret' }, 'dataSensitivity="Secret"'],
    ['a string for a boolean', { reversible: 'yes' }, 'reversible="yes"'],
    ['a member the block does not have', { audited: true }, 'audited'],
  ])('%s reads as most restrictive and is reported', (_name, trust, reported) => {
    const decoded = decodeTrustLabels(trust);
    expect(decoded.unknown).toEqual([reported]);
    expect(decoded.labels).toEqual({ effect: 'destructive', egress: 'external', dataSensitivity: 'secret', reversible: false, idempotent: false });
  });
});

const manifestOf = (tools: { name: string; version: string; contentHash: string }[]): DeclarationsManifest => ({
  server: 'https://mcp.example.com/mcp',
  publisher: 'https://publisher.example/mcp-publisher.json',
  specVersion: '2025-11-25',
  issuedAt: '2026-07-27T12:00:00Z',
  expiresAt: '2026-08-27T12:00:00Z',
  nonce: 'b1e9c0ffee',
  tools,
});

describe('the detached JWS over JCS(manifest)', () => {
  const pair = generateKeyPair();
  const key = (kid: string) => (k: string) => (k === kid ? { ...pair.publicJwk, kid } : undefined);
  const entry = { name: 'delete_resource', version: '3', contentHash: contentHashOf(fixture('declaration.json')) };

  it('signs with the payload detached, and verifies by kid', async () => {
    const signed = await signDeclarationsManifest(manifestOf([entry]), pair.privateJwk, 'pub-1');
    expect(signed.signature).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    const verified = await verifyDeclarationsSignature(signed, key('pub-1'));
    expect(verified.kid).toBe('pub-1');
    expect(verified.keyId).toBe(jwkThumbprint(pair.publicJwk));
  });

  it('property: any manifest signed then verified passes; any change to one signature character fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), fc.nat(), async (nonce, at) => {
        const signed = await signDeclarationsManifest({ ...manifestOf([entry]), nonce }, pair.privateJwk, 'pub-1');
        await verifyDeclarationsSignature(signed, key('pub-1'));
        const sig = signed.signature;
        const i = sig.indexOf('..') + 2 + (at % (sig.length - sig.indexOf('..') - 2));
        const flipped = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
        await expect(verifyDeclarationsSignature({ ...signed, signature: flipped }, key('pub-1'))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
      }),
      { numRuns: 25 },
    );
  });

  it.each([
    ['the publisher changed', (m: DeclarationsManifest) => ({ ...m, publisher: 'https://attacker.example/p.json' })],
    ['the server changed', (m: DeclarationsManifest) => ({ ...m, server: 'https://other.example/mcp' })],
    ['the expiry extended', (m: DeclarationsManifest) => ({ ...m, expiresAt: '2036-08-27T12:00:00Z' })],
    ['a tool added', (m: DeclarationsManifest) => ({ ...m, tools: [...m.tools, { ...entry, name: 'exfiltrate' }] })],
    ['a member added', (m: DeclarationsManifest) => ({ ...m, extra: true })],
  ])('a manifest changed after signing is BAD_SIGNATURE: %s', async (_name, change) => {
    const signed = await signDeclarationsManifest(manifestOf([entry]), pair.privateJwk, 'pub-1');
    await expect(verifyDeclarationsSignature({ ...signed, manifest: change(signed.manifest) as DeclarationsManifest }, key('pub-1'))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
  });

  it('a kid the key set does not hold is UNKNOWN_SIGNER', async () => {
    const signed = await signDeclarationsManifest(manifestOf([entry]), pair.privateJwk, 'pub-2');
    await expect(verifyDeclarationsSignature(signed, key('pub-1'))).rejects.toMatchObject({ code: 'UNKNOWN_SIGNER' });
  });

  it('a header with another algorithm (HS256) is BAD_SIGNATURE', async () => {
    const signed = await signDeclarationsManifest(manifestOf([entry]), pair.privateJwk, 'pub-1');
    const hs = Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'pub-1' })).toString('base64url');
    const error = await verifyDeclarationsSignature({ ...signed, signature: `${hs}..${signed.signature.split('..')[1]}` }, key('pub-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'BAD_SIGNATURE' });
  });

  it('property: the content hash ignores only contentHash, and is idempotent under re-serialisation', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (description, stale) => {
        const declaration = { name: 't', description, inputSchema: { type: 'object' }, version: '1' };
        const hash = contentHashOf(declaration);
        expect(contentHashOf({ ...declaration, contentHash: stale })).toBe(hash);
        expect(contentHashOf(JSON.parse(JSON.stringify({ ...declaration, contentHash: hash })) as object)).toBe(hash);
        expect(contentHashOf({ ...declaration, description: `${description}.` })).not.toBe(hash);
      }),
    );
  });
});
