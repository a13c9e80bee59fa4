/**
 * One schema, every path: the same signed-manifest documents through every path that checks
 * one, each of which must agree with SignedManifestSchema. A refusal is SCHEMA_INVALID on every
 * path, naming where the document is wrong; a refused publish leaves the log as it was.
 *
 * Paths: decodeSignedManifest and verifySignedManifest (JSON text), an offline bundle-set file
 * (decodeBundleSet), the online bundle set (RegistryClient.getBundleSet over HTTP on 127.0.0.1,
 * from a hostile registry serving the document), and the registry's publish (POST /v1/tools).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBytes, decodeSignedManifest, ProtocolError, signBytes, verifySignedManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import { LIMITS, MANIFEST_META_KEY, MANIFEST_TYPE, type BundleSet, type SignedManifest } from '../../schemas/index.js';
import { RegistryClient, VerificationError, decodeBundleSet } from '../../client-verifier/index.js';
import { startRegistry, type RunningRegistry } from '../verifier/support/real-registry.js';

type Doc = { manifest: Record<string, unknown>; signatures: Record<string, unknown>[] };
const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { n: nest(depth - 1) });

/** One row per way a document can break a rule of SignedManifestSchema; `null` changes nothing. */
const cases: [string, ((doc: Doc) => void) | null, 'manifest' | 'envelope'][] = [
  ['a valid signed manifest (accepted everywhere)', null, 'manifest'],
  ['an unknown manifest member', (d) => void (d.manifest.extra = 1), 'manifest'],
  ['another manifest type', (d) => void (d.manifest.type = 'etdi.tool-manifest/v2'), 'manifest'],
  ['a version that is not semver', (d) => void (d.manifest.version = '1.0'), 'manifest'],
  ['a tool id that is not provider/name', (d) => void (d.manifest.toolId = 'org.evil/paths'), 'manifest'],
  ['a repeated permission', (d) => void (d.manifest.permissions = ['files:read', 'files:read']), 'manifest'],
  ['an issuedAt with an offset', (d) => void (d.manifest.issuedAt = '2026-11-25T00:00:00+01:00'), 'manifest'],
  ['a policy in another language', (d) => void (d.manifest.policy = { language: 'rego', policies: 'allow' }), 'manifest'],
  ['a definition nested deeper than the limit', (d) => void ((d.manifest.definition as Record<string, unknown>).inputSchema = { type: 'object', properties: nest(LIMITS.maxDepth) }), 'manifest'],
  ['a string longer than the limit', (d) => void ((d.manifest.definition as Record<string, unknown>).title = 'x'.repeat(LIMITS.maxStringLength + 1)), 'manifest'],
  ['a carried-manifest key inside the signed definition', (d) => void ((d.manifest.definition as Record<string, unknown>)._meta = { [MANIFEST_META_KEY]: {} }), 'manifest'],
  ['no signature', (d) => void (d.signatures = []), 'envelope'],
  ['a signature of the wrong length', (d) => void (d.signatures[0]!.sig = 'c2ln'), 'envelope'],
  ['two signatures by one key', (d) => void d.signatures.push({ ...d.signatures[0]! }), 'envelope'],
  ['another signature algorithm', (d) => void (d.signatures[0]!.alg = 'ES256'), 'envelope'],
  ['an unknown envelope member', (d) => void ((d as unknown as Record<string, unknown>).note = 'x'), 'envelope'],
];

let registry: RunningRegistry;
let acme: { key: GeneratedKeyPair; token: string };
let validSet: BundleSet;
/** The hostile registry's answer to POST /v1/bundles (set per case). */
let hostileAnswer = '';
let hostile: Server;
let hostileUrl: string;

beforeAll(async () => {
  registry = await startRegistry();
  acme = await registry.register('com.acme');
  await registry.publish(acme.token, acme.key, 'com.acme', { name: 'paths', inputSchema: { type: 'object' } }, '1.0.0', ['files:read']);
  validSet = await new RegistryClient({ baseUrl: registry.url }).getBundleSet([{ toolId: 'com.acme/paths', version: '1.0.0' }]);
  hostile = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(hostileAnswer));
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => hostile.close(() => resolve()));
  await registry.close();
});

/** A signed manifest for `name`, changed by `change`; manifest changes are signed over (the schema, not the signature, must refuse them). */
async function document(name: string, change: ((doc: Doc) => void) | null, where: 'manifest' | 'envelope', key: GeneratedKeyPair): Promise<Doc> {
  const doc: Doc = {
    manifest: {
      type: MANIFEST_TYPE,
      toolId: `com.acme/${name}`,
      version: '1.0.0',
      provider: 'com.acme',
      definition: { name, description: 'One schema, every path', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } },
      permissions: ['files:read'],
      issuedAt: new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    signatures: [],
  };
  if (where === 'manifest') change?.(doc);
  doc.signatures = [{ alg: 'EdDSA', keyId: key.keyId, sig: await signBytes(key.privateJwk, canonicalBytes(doc.manifest)) }];
  if (where === 'envelope') change?.(doc);
  return doc;
}

/** Every path's verdict on one document: 'accepted', or the error's code and message. */
async function verdicts(name: string, doc: Doc): Promise<Record<string, { code: string; message: string }>> {
  const outcome = async (run: () => Promise<unknown>): Promise<{ code: string; message: string }> => {
    try {
      await run();
      return { code: 'accepted', message: '' };
    } catch (e) {
      if (e instanceof ProtocolError || e instanceof VerificationError) return { code: e.code, message: e.message };
      return { code: `untyped: ${String(e)}`, message: '' };
    }
  };
  const text = JSON.stringify(doc);
  const set = structuredClone(validSet);
  (set.bundles[0]!.record as { signedManifest: SignedManifest }).signedManifest = doc as unknown as SignedManifest;
  hostileAnswer = JSON.stringify(set);
  const before = await (await fetch(`${registry.url}/v1/log/checkpoint`)).text();
  const publish = await fetch(`${registry.url}/v1/tools`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.token}` }, body: text });
  const problem = (await publish.json()) as { code?: string; detail?: string };
  const after = await (await fetch(`${registry.url}/v1/log/checkpoint`)).text();
  if (publish.status >= 400) expect(after).toBe(before); // a refused publish leaves the log as it was
  return {
    decodeSignedManifest: await outcome(async () => decodeSignedManifest(text)),
    verifySignedManifest: await outcome(() => verifySignedManifest(text, (id) => (id === acme.key.keyId ? acme.key.publicJwk : undefined))),
    'offline bundle-set file': await outcome(async () => decodeBundleSet(hostileAnswer)),
    'online bundle set': await outcome(() => new RegistryClient({ baseUrl: hostileUrl }).getBundleSet([{ toolId: `com.acme/${name}`, version: '1.0.0' }])),
    'registry publish': publish.status < 300 ? { code: 'accepted', message: '' } : { code: problem.code ?? String(publish.status), message: problem.detail ?? '' },
  };
}

describe('one schema on every path that checks a signed manifest', () => {
  it.each(cases.map(([name, change, where], i) => [name, change, where, i] as const))('%s', async (_label, change, where, i) => {
    const name = `paths_${i}`;
    const got = await verdicts(name, await document(name, change, where, acme.key));
    const want = change === null ? 'accepted' : 'SCHEMA_INVALID';
    expect(Object.fromEntries(Object.entries(got).map(([path, v]) => [path, v.code]))).toEqual({
      decodeSignedManifest: want,
      verifySignedManifest: want,
      'offline bundle-set file': want,
      'online bundle set': want,
      'registry publish': want,
    });
    // The bundle-set paths name where in the set the document is wrong.
    if (change !== null) expect(got['offline bundle-set file']!.message).toMatch(/bundles\.0\.record\.signedManifest/);
  });
});
