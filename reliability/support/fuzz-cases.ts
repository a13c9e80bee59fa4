/**
 * The hostile-input fuzzer's cases: fast-check recipes that become requests to every write
 * endpoint. Each request starts from a document the registry WOULD accept (fresh statement,
 * unpublished version, right token) and carries at least one fault, so any 2xx is an accepted
 * invalid document and any 5xx is an unhandled input; nothing may change the store or the log.
 */
import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { generateKeyPair, type GeneratedKeyPair } from '@etdi/protocol';
import { PUBLISHER_JWT_TYPE, type Ed25519PublicJwk } from '@etdi/schemas';
import { keyAddBody, manifestOf, registrationBody, signed, signedUnchecked, syntheticDefinition, tokenBody, type StatementFrame } from './actors.js';

export interface FuzzRequest {
  /** endpoint/fault/variant: what the request attacks (for counts and failure reports). */
  label: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface FuzzResponse {
  status: number;
  body: unknown;
}

export type Send = (request: FuzzRequest) => Promise<FuzzResponse>;

export interface FuzzProvider {
  namespace: string;
  key: GeneratedKeyPair;
  token: string;
}

/** What the setup phase created (real registrations, tokens, publications) for the cases to use. */
export interface FuzzWorld {
  origin: string;
  adminToken: string;
  now: () => number;
  a: FuzzProvider;
  b: FuzzProvider;
  /** A second key of `a`, revoked after `revokedKeyToken` was issued with it. */
  revokedKey: GeneratedKeyPair;
  revokedKeyToken: string;
  toolName: string;
  /** Published by `a`: 1.0.0 active, 1.0.1 revoked. */
  published: { version: string; body: Buffer }[];
  /** Statements already consumed (replays). */
  usedRegistration: Record<string, unknown>;
  usedToken: Record<string, unknown>;
  usedKeyAdd: Record<string, unknown>;
  /** The registry's JWT keys: the public one for HS256 confusion, the private one for expired/misaddressed tokens. */
  registryJwk: Ed25519PublicJwk & { kid?: string };
  registryKey: { kid: string; privateKey: KeyObject };
}

export const ENDPOINTS = ['register', 'keyAdd', 'keyRevoke', 'token', 'publish', 'versionRevoke'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export const FAULTS = [
  'rawBytes',
  'invalidUtf8',
  'loneSurrogate',
  'duplicateKey',
  'bigNumber',
  'deepNesting',
  'hugeString',
  'hugeArray',
  'wrongType',
  'anyJson',
  'truncated',
  'contentType',
  'auth',
  'semantic',
] as const;
export type Fault = (typeof FAULTS)[number];

export interface Recipe {
  endpoint: Endpoint;
  fault: Fault;
  pick: number;
  variant: number;
  value: unknown;
  bytes: Uint8Array;
  size: number;
  text: string;
}

/** The recipe space; every field is entropy the builder interprets for the chosen fault. */
export const recipeArb: fc.Arbitrary<Recipe> = fc.record({
  endpoint: fc.constantFrom(...ENDPOINTS),
  fault: fc.constantFrom(...FAULTS),
  pick: fc.nat(),
  variant: fc.nat(),
  value: fc.jsonValue({ maxDepth: 4 }),
  bytes: fc.uint8Array({ maxLength: 512 }),
  size: fc.oneof(fc.integer({ min: 1025, max: 20_000 }), fc.integer({ min: 20_000, max: 200_000 })),
  text: fc.string({ unit: 'binary', maxLength: 64 }),
});

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const PLACEHOLDER = '__ETDI_FUZZ_PLACEHOLDER__';

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...prefix, i]), paths(v, [...prefix, i], out)));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push([...prefix, k]), paths(v, [...prefix, k], out);
  return out;
}

function getAt(doc: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], doc);
}

function setAt(doc: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((v, k) => v[k] as Record<string | number, unknown>, copy);
  parent[path[path.length - 1]!] = value;
  return copy;
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** `value`, made to differ in JSON type from `original` (so the document surely changed). */
function otherType(original: unknown, value: unknown): unknown {
  if (kind(value) !== kind(original)) return value;
  return kind(original) === 'array' ? { value } : [value];
}

/** Serialises `doc` with the value at the chosen path replaced by raw bytes (literal JSON or not JSON at all). */
function withRawAt(doc: unknown, pick: number, raw: Buffer): Buffer {
  const all = paths(doc);
  const text = JSON.stringify(all.length === 0 ? PLACEHOLDER : setAt(doc, all[pick % all.length]!, PLACEHOLDER));
  const [before, after] = text.split(`"${PLACEHOLDER}"`) as [string, string];
  return Buffer.concat([Buffer.from(before), raw, Buffer.from(after ?? '')]);
}

const INVALID_UTF8 = [
  [0xc3, 0x28], // truncated 2-byte sequence
  [0xff], // never valid
  [0xc0, 0xaf], // overlong '/'
  [0xed, 0xa0, 0x80], // CESU-8 lone high surrogate
  [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
  [0xe2, 0x82], // truncated 3-byte sequence
];
const LONE_SURROGATES = ['"\\ud800"', '"a\\udfffb"', '"\\udbff\\u0041"', '"\\ud83d"', '"x\\ud800\\ud800"'];
const BIG_NUMBERS = ['9007199254740993', '-9007199254740993', '1e400', '-1e400', '123456789012345678901234567890', '1.7976931348623159e308'];

export const CONFUSABLE_NAMESPACES = [
  'io.fuzz.acrne', // TR39 look-alike of io.fuzz.acme ("rn" / "m")
  'io.fuzz.\u0430cme', // Cyrillic a: mixed script
  'io.fuzz.ACME', // case
  'io.fuzz.\uff41cme', // full-width a (NFKC)
  'io.fuzz.ac\u200bme', // zero-width space
  'io.fuzz.acme', // taken
  'io.fuzz.beta', // taken
  '../../etc', // traversal
  'io.fuzz/../etc',
  'io.fuzz.acme%2f..',
  'io.fuzz.acme.',
  '.io.fuzz',
  'io..fuzz',
];
const TRAVERSAL_NAMES = ['../../etc/passwd', '..%2f..%2fetc', 'read_rec\u043ErDs', 'read\u0000records', 'read records', 'r'.repeat(129), '', '\\..\\..\\win'];

async function forgedToken(world: FuzzWorld, variant: number): Promise<{ label: string; header: string }> {
  const now = Math.floor(world.now() / 1000);
  const claims = { iss: world.origin, aud: world.origin, sub: world.a.namespace, key_id: world.a.key.keyId, iat: now, exp: now + 600 };
  const header = { typ: PUBLISHER_JWT_TYPE, kid: world.registryKey.kid };
  const variants: (() => Promise<{ label: string; header: string }>)[] = [
    async () => ({ label: 'alg-none', header: `Bearer ${b64url({ ...header, alg: 'none' })}.${b64url(claims)}.` }),
    async () => {
      // HS256 keyed with the registry's public key (the classic algorithm-confusion forgery)
      const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(claims)}`;
      const secrets = [Buffer.from(world.registryJwk.x, 'base64url'), Buffer.from(JSON.stringify(world.registryJwk)), Buffer.from(world.registryJwk.x)];
      const mac = createHmac('sha256', secrets[variant % secrets.length]!).update(input).digest('base64url');
      return { label: 'hs256-public-key', header: `Bearer ${input}.${mac}` };
    },
    async () => ({
      label: 'expired',
      header: `Bearer ${await new SignJWT({ key_id: world.a.key.keyId }).setProtectedHeader({ alg: 'EdDSA', ...header }).setIssuer(world.origin).setAudience(world.origin).setSubject(world.a.namespace).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(world.registryKey.privateKey)}`,
    }),
    async () => ({
      label: 'wrong-audience',
      header: `Bearer ${await new SignJWT({ key_id: world.a.key.keyId }).setProtectedHeader({ alg: 'EdDSA', ...header }).setIssuer(world.origin).setAudience('etdi-clients').setSubject(world.a.namespace).setIssuedAt(now).setExpirationTime(now + 600).sign(world.registryKey.privateKey)}`,
    }),
    async () => ({
      label: 'wrong-typ',
      header: `Bearer ${await new SignJWT({ key_id: world.a.key.keyId }).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: world.registryKey.kid }).setIssuer(world.origin).setAudience(world.origin).setSubject(world.a.namespace).setIssuedAt(now).setExpirationTime(now + 600).sign(world.registryKey.privateKey)}`,
    }),
    async () => {
      // signed by the provider's own key under the registry's kid
      const own = await new SignJWT({ key_id: world.a.key.keyId }).setProtectedHeader({ alg: 'EdDSA', ...header }).setIssuer(world.origin).setAudience(world.origin).setSubject(world.a.namespace).setIssuedAt(now).setExpirationTime(now + 600).sign(await importOkp(world.a.key));
      return { label: 'provider-signed', header: `Bearer ${own}` };
    },
    async () => {
      // a real token of b with its payload swapped for a's: the signature no longer matches
      const [h, , s] = world.b.token.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(world.b.token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      return { label: 'payload-swapped', header: `Bearer ${h}.${b64url({ ...payload, sub: world.a.namespace, key_id: world.a.key.keyId })}.${s}` };
    },
    async () => ({ label: 'revoked-key-token', header: `Bearer ${world.revokedKeyToken}` }),
    async () => ({ label: 'other-namespace-token', header: `Bearer ${world.b.token}` }),
    async () => ({ label: 'garbage', header: `Bearer ${randomBytes(32).toString('base64url')}` }),
    async () => ({ label: 'basic-scheme', header: `Basic ${Buffer.from(`admin:${world.adminToken}`).toString('base64')}` }),
    async () => ({ label: 'admin-token-prefix', header: `Bearer ${world.adminToken.slice(0, -1)}` }),
    async () => ({ label: 'bearer-space', header: `Bearer ${world.a.token} x` }),
    async () => ({ label: 'truncated-signature', header: `Bearer ${world.a.token.slice(0, -4)}` }),
  ];
  return variants[variant % variants.length]!();
}

async function importOkp(key: GeneratedKeyPair): Promise<KeyObject> {
  const { createPrivateKey } = await import('node:crypto');
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.privateJwk.x, d: key.privateJwk.d }, format: 'jwk' });
}

interface Base {
  path: string;
  /** Authorization of the valid request (undefined: the endpoint takes none). */
  auth: string | undefined;
  doc: Record<string, unknown>;
}

let sequence = 0;

/** The valid request the faults start from: a fresh statement, an unpublished version, the right token. */
async function base(world: FuzzWorld, endpoint: Endpoint): Promise<Base> {
  const frame: StatementFrame = { origin: world.origin, nowMs: world.now() };
  const { a } = world;
  switch (endpoint) {
    case 'register':
      return { path: '/v1/namespaces', auth: `Bearer ${world.adminToken}`, doc: await registrationBody(frame, `io.fuzz.fresh${++sequence}`, generateKeyPair()) };
    case 'keyAdd':
      return { path: `/v1/namespaces/${a.namespace}/keys`, auth: `Bearer ${a.token}`, doc: await keyAddBody(frame, a.namespace, a.key, generateKeyPair()) };
    case 'keyRevoke':
      return { path: `/v1/namespaces/${a.namespace}/keys/${a.key.keyId}/revoke`, auth: `Bearer ${a.token}`, doc: { reason: 'fuzz' } };
    case 'token':
      return { path: '/v1/tokens', auth: undefined, doc: await tokenBody(frame, a.namespace, a.key) };
    case 'publish': {
      const manifest = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `2.0.${++sequence}`, new Date(frame.nowMs).toISOString());
      return { path: '/v1/tools', auth: `Bearer ${a.token}`, doc: (await signed(a.key, manifest)) as unknown as Record<string, unknown> };
    }
    case 'versionRevoke':
      return { path: `/v1/tools/${a.namespace}/${world.toolName}/versions/1.0.0/revoke`, auth: `Bearer ${a.token}`, doc: { reason: 'fuzz' } };
  }
}

const request = (label: string, path: string, auth: string | undefined, body: Buffer | undefined, contentType = 'application/json'): FuzzRequest => {
  const headers: Record<string, string> = {};
  if (contentType !== '') headers['content-type'] = contentType;
  if (auth !== undefined) headers.authorization = auth;
  return { label, method: 'POST', path, headers, body };
};

/** Endpoint-specific attacks: a well-formed document that breaks one rule of the protocol. */
async function semantic(world: FuzzWorld, endpoint: Endpoint, b: Base, variant: number, pick: number): Promise<FuzzRequest> {
  const frame: StatementFrame = { origin: world.origin, nowMs: world.now() };
  const { a } = world;
  const L = (name: string): string => `${endpoint}/semantic/${name}`;
  const stale: StatementFrame = { origin: world.origin, nowMs: frame.nowMs - 3_600_000 };
  const foreign: StatementFrame = { origin: 'https://evil.example', nowMs: frame.nowMs };
  const admin = `Bearer ${world.adminToken}`;
  const cases: Record<Endpoint, (() => Promise<FuzzRequest>)[]> = {
    register: [
      async () => request(L('confusable-name'), b.path, admin, json(await registrationBody(frame, CONFUSABLE_NAMESPACES[pick % CONFUSABLE_NAMESPACES.length]!, generateKeyPair()))),
      async () => request(L('replayed'), b.path, admin, json(world.usedRegistration)),
      async () => request(L('stale'), b.path, admin, json(await registrationBody(stale, `io.fuzz.stale${++sequence}`, generateKeyPair()))),
      async () => request(L('other-registry'), b.path, admin, json(await registrationBody(foreign, `io.fuzz.foreign${++sequence}`, generateKeyPair()))),
      async () => {
        const doc = await registrationBody(frame, `io.fuzz.swap${++sequence}`, generateKeyPair());
        return request(L('jwk-not-statement-key'), b.path, admin, json({ ...doc, jwk: generateKeyPair().publicJwk }));
      },
      async () => {
        const other = await registrationBody(frame, `io.fuzz.sig${++sequence}`, generateKeyPair());
        return request(L('signature-of-other-statement'), b.path, admin, json({ ...b.doc, signature: other.signature }));
      },
      async () => request(L('admin-grant-anonymous'), b.path, undefined, json(b.doc)),
      async () => request(L('admin-grant-by-publisher'), b.path, `Bearer ${a.token}`, json(b.doc)),
      async () => request(L('private-key-in-jwk'), b.path, admin, json({ ...b.doc, jwk: generateKeyPair().privateJwk })),
    ],
    keyAdd: [
      async () => request(L('replayed'), b.path, b.auth, json(world.usedKeyAdd)),
      async () => request(L('stale'), b.path, b.auth, json(await keyAddBody(stale, a.namespace, a.key, generateKeyPair()))),
      async () => request(L('other-registry'), b.path, b.auth, json(await keyAddBody(foreign, a.namespace, a.key, generateKeyPair()))),
      async () => request(L('authorizer-revoked'), b.path, b.auth, json(await keyAddBody(frame, a.namespace, world.revokedKey, generateKeyPair()))),
      async () => request(L('authorizer-foreign'), b.path, b.auth, json(await keyAddBody(frame, a.namespace, world.b.key, generateKeyPair()))),
      async () => request(L('authorizer-unknown'), b.path, b.auth, json(await keyAddBody(frame, a.namespace, generateKeyPair(), generateKeyPair()))),
      async () => request(L('key-exists'), b.path, b.auth, json(await keyAddBody(frame, a.namespace, a.key, a.key))),
      async () => request(L('path-namespace-mismatch'), `/v1/namespaces/${world.b.namespace}/keys`, `Bearer ${world.b.token}`, json(b.doc)),
      async () => {
        const fresh = generateKeyPair();
        const doc = await keyAddBody(frame, a.namespace, a.key, fresh);
        const other = await keyAddBody(frame, a.namespace, a.key, generateKeyPair());
        return request(L('proof-by-other-key'), b.path, b.auth, json({ ...doc, proof: other.proof }));
      },
      async () => request(L('anonymous'), b.path, undefined, json(b.doc)),
    ],
    keyRevoke: [
      async () => request(L('unknown-key'), `/v1/namespaces/${a.namespace}/keys/${generateKeyPair().keyId}/revoke`, b.auth, json(b.doc)),
      async () => request(L('already-revoked'), `/v1/namespaces/${a.namespace}/keys/${world.revokedKey.keyId}/revoke`, b.auth, json(b.doc)),
      async () => request(L('other-namespace'), `/v1/namespaces/${world.b.namespace}/keys/${world.b.key.keyId}/revoke`, b.auth, json(b.doc)),
      async () => request(L('traversal-to-other-namespace'), `/v1/namespaces/${a.namespace}/../${world.b.namespace}/keys/${world.b.key.keyId}/revoke`, b.auth, json(b.doc)),
      async () => request(L('encoded-traversal'), `/v1/namespaces/${a.namespace}%2F..%2F${world.b.namespace}/keys/${world.b.key.keyId}/revoke`, b.auth, json(b.doc)),
      async () => request(L('traversal-key-id'), `/v1/namespaces/${a.namespace}/keys/..%2F..%2F${a.key.keyId}/revoke`, b.auth, json(b.doc)),
      async () => request(L('revoked-from-not-iso'), b.path, b.auth, json({ ...b.doc, revokedFrom: 'yesterday' })),
      async () => request(L('anonymous'), b.path, undefined, json(b.doc)),
    ],
    token: [
      async () => request(L('replayed'), b.path, undefined, json(world.usedToken)),
      async () => request(L('stale'), b.path, undefined, json(await tokenBody(stale, a.namespace, a.key))),
      async () => request(L('other-registry'), b.path, undefined, json(await tokenBody(foreign, a.namespace, a.key))),
      async () => request(L('revoked-key'), b.path, undefined, json(await tokenBody(frame, a.namespace, world.revokedKey))),
      async () => request(L('foreign-key'), b.path, undefined, json(await tokenBody(frame, a.namespace, world.b.key))),
      async () => request(L('unknown-key'), b.path, undefined, json(await tokenBody(frame, a.namespace, generateKeyPair()))),
      async () => request(L('unregistered-namespace'), b.path, undefined, json(await tokenBody(frame, 'io.fuzz.nobody', generateKeyPair()))),
      async () => {
        const other = await tokenBody(frame, a.namespace, a.key);
        return request(L('signature-of-other-statement'), b.path, undefined, json({ ...b.doc, signature: other.signature }));
      },
    ],
    publish: [
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 2), '1.0.0', new Date(frame.nowMs).toISOString());
        return request(L('same-version-other-content'), b.path, b.auth, json(await signed(a.key, m)));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), '0.9.0', new Date(frame.nowMs).toISOString());
        return request(L('rollback-lower-version'), b.path, b.auth, json(await signed(a.key, m)));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('signed-by-revoked-key'), b.path, b.auth, json(await signed(world.revokedKey, m)));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('signed-by-other-provider'), b.path, b.auth, json(await signed(world.b.key, m)));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('signed-by-unknown-key'), b.path, b.auth, json(await signed(generateKeyPair(), m)));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs + 86_400_000).toISOString());
        return request(L('issued-in-future'), b.path, b.auth, json(await signed(a.key, m)));
      },
      async () => {
        const m = manifestOf(world.b.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('other-namespace-with-its-key'), b.path, b.auth, json(await signed(world.b.key, m)));
      },
      async () => {
        const m = manifestOf('io.fuzz.nobody', syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('unregistered-namespace-as-admin'), b.path, admin, json(await signed(a.key, m)));
      },
      async () => {
        const name = TRAVERSAL_NAMES[pick % TRAVERSAL_NAMES.length]!;
        const m = manifestOf(a.namespace, syntheticDefinition(name, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('bad-tool-name'), b.path, b.auth, json(await signedUnchecked(a.key, m)));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        return request(L('tool-id-mismatch'), b.path, b.auth, json(await signedUnchecked(a.key, { ...m, toolId: `${a.namespace}/other_tool` })));
      },
      async () => {
        const doc = structuredClone(b.doc) as { manifest: { definition: { description: string } } };
        doc.manifest.definition.description += ' Also uploads ~/.ssh to the attacker.';
        return request(L('changed-after-signing'), b.path, b.auth, json(doc));
      },
      async () => request(L('unsigned'), b.path, b.auth, json({ ...b.doc, signatures: [] })),
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString());
        const policy = { language: 'cedar', policies: 'permit(principal, action, resource) when { nonsense };' };
        return request(L('invalid-policy'), b.path, b.auth, json(await signedUnchecked(a.key, { ...m, policy })));
      },
      async () => {
        const m = manifestOf(a.namespace, syntheticDefinition(world.toolName, 1), `3.0.${++sequence}`, new Date(frame.nowMs).toISOString(), ['a', 'a']);
        return request(L('repeated-permission'), b.path, b.auth, json(await signedUnchecked(a.key, m)));
      },
      async () => request(L('anonymous'), b.path, undefined, json(b.doc)),
      async () => request(L('republish-with-extra-signature-field'), b.path, b.auth, json({ ...b.doc, signatures: [{ ...(b.doc.signatures as object[])[0], x5c: [] }] })),
    ],
    versionRevoke: [
      async () => request(L('unknown-version'), `/v1/tools/${a.namespace}/${world.toolName}/versions/9.9.9/revoke`, b.auth, json(b.doc)),
      async () => request(L('already-revoked'), `/v1/tools/${a.namespace}/${world.toolName}/versions/1.0.1/revoke`, b.auth, json(b.doc)),
      async () => request(L('other-namespace'), `/v1/tools/${world.b.namespace}/${world.toolName}/versions/1.0.0/revoke`, b.auth, json(b.doc)),
      async () => request(L('not-semver'), `/v1/tools/${a.namespace}/${world.toolName}/versions/latest/revoke`, b.auth, json(b.doc)),
      async () => request(L('traversal'), `/v1/tools/${a.namespace}/..%2F..%2F${world.b.namespace}/versions/1.0.0/revoke`, b.auth, json(b.doc)),
      async () => request(L('dot-segments'), `/v1/tools/${world.b.namespace}/../${a.namespace}/${world.toolName}/versions/1.0.0/revoke`, `Bearer ${world.b.token}`, json(b.doc)),
      async () => request(L('unknown-tool'), `/v1/tools/${a.namespace}/${encodeURIComponent(TRAVERSAL_NAMES[pick % TRAVERSAL_NAMES.length]!)}/versions/1.0.0/revoke`, b.auth, json(b.doc)),
      async () => request(L('empty-reason'), b.path, b.auth, json({ reason: '' })),
      async () => request(L('anonymous'), b.path, undefined, json(b.doc)),
    ],
  };
  const list = cases[endpoint];
  return list[variant % list.length]!();
}

/** Turns a recipe into a request; every request it returns must be refused with a 4xx. */
export async function buildRequest(world: FuzzWorld, recipe: Recipe): Promise<FuzzRequest> {
  const { endpoint, fault, pick, variant } = recipe;
  const b = await base(world, endpoint);
  const label = `${endpoint}/${fault}`;
  const send = (body: Buffer, suffix = ''): FuzzRequest => request(label + suffix, b.path, b.auth, body);
  const all = paths(b.doc);
  const at = all[pick % all.length]!;
  switch (fault) {
    case 'rawBytes':
      return send(Buffer.from(recipe.bytes));
    case 'invalidUtf8': {
      const bad = Buffer.from(INVALID_UTF8[variant % INVALID_UTF8.length]!);
      return send(withRawAt(b.doc, pick, Buffer.concat([Buffer.from('"ok'), bad, Buffer.from('"')])));
    }
    case 'loneSurrogate':
      return send(withRawAt(b.doc, pick, Buffer.from(LONE_SURROGATES[variant % LONE_SURROGATES.length]!)));
    case 'duplicateKey': {
      // the same member twice: JSON.parse keeps the last one, a strict parser refuses both
      const text = JSON.stringify(b.doc);
      const keys = Object.keys(b.doc);
      const key = keys[pick % keys.length]!;
      const dupValue = variant % 2 === 0 ? b.doc[key] : recipe.value;
      return send(Buffer.from(`${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(dupValue)}}`), variant % 2 === 0 ? '/same' : '/other');
    }
    case 'bigNumber':
      return send(withRawAt(b.doc, pick, Buffer.from(BIG_NUMBERS[variant % BIG_NUMBERS.length]!)));
    case 'deepNesting': {
      const depth = 33 + (recipe.size % 20_000);
      const open = variant % 2 === 0 ? '['.repeat(depth) : '{"a":'.repeat(depth);
      const close = variant % 2 === 0 ? ']'.repeat(depth) : '}'.repeat(depth);
      return send(withRawAt(b.doc, pick, Buffer.from(open + '1' + close)));
    }
    case 'hugeString':
      return send(json(setAt(b.doc, at, 'A'.repeat(recipe.size))));
    case 'hugeArray':
      return send(json(setAt(b.doc, at, Array.from({ length: Math.min(recipe.size, 50_000) }, (_, i) => i))));
    case 'wrongType':
      return send(json(setAt(b.doc, at, otherType(getAt(b.doc, at), recipe.value))));
    case 'anyJson':
      return send(json(otherType(b.doc, recipe.value)));
    case 'truncated': {
      const text = json(b.doc);
      return send(text.subarray(0, pick % text.length));
    }
    case 'contentType': {
      const types = ['text/plain', 'application/x-www-form-urlencoded', '', 'application/jsonp', 'multipart/form-data; boundary=x'];
      const type = types[variant % types.length]!;
      return request(`${label}/${type || 'none'}`, b.path, b.auth, json(b.doc), type);
    }
    case 'auth': {
      if (b.auth === undefined) return semantic(world, endpoint, b, variant, pick);
      const forged = await forgedToken(world, variant);
      return request(`${label}/${forged.label}`, b.path, forged.header, json(b.doc));
    }
    case 'semantic':
      return semantic(world, endpoint, b, variant, pick);
  }
}

/** Builds the fuzz world through `send`: real registrations, keys, tokens and publications. */
export async function setupWorld(
  send: Send,
  options: { origin: string; adminToken: string; now: () => number; registryKey: { kid: string; privateKey: KeyObject } },
): Promise<FuzzWorld> {
  const frame = (): StatementFrame => ({ origin: options.origin, nowMs: options.now() });
  const admin = `Bearer ${options.adminToken}`;
  const ok = async (what: string, r: FuzzRequest): Promise<FuzzResponse> => {
    const res = await send(r);
    if (res.status >= 300) throw new Error(`setup: ${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  };
  const register = async (namespace: string): Promise<{ key: GeneratedKeyPair; body: Record<string, unknown> }> => {
    const key = generateKeyPair();
    const body = await registrationBody(frame(), namespace, key);
    await ok(`register ${namespace}`, request('setup', '/v1/namespaces', admin, json(body)));
    return { key, body };
  };
  const token = async (namespace: string, key: GeneratedKeyPair): Promise<{ token: string; body: Record<string, unknown> }> => {
    const body = await tokenBody(frame(), namespace, key);
    const res = await ok(`token ${namespace}`, request('setup', '/v1/tokens', undefined, json(body)));
    return { token: (res.body as { access_token: string }).access_token, body };
  };
  const ra = await register('io.fuzz.acme');
  const rb = await register('io.fuzz.beta');
  const ta = await token('io.fuzz.acme', ra.key);
  const tb = await token('io.fuzz.beta', rb.key);
  const a = { namespace: 'io.fuzz.acme', key: ra.key, token: ta.token };
  const b = { namespace: 'io.fuzz.beta', key: rb.key, token: tb.token };
  const revokedKey = generateKeyPair();
  const keyAdd = await keyAddBody(frame(), a.namespace, a.key, revokedKey);
  await ok('key add', request('setup', `/v1/namespaces/${a.namespace}/keys`, `Bearer ${a.token}`, json(keyAdd)));
  const revokedKeyToken = (await token(a.namespace, revokedKey)).token;
  await ok('key revoke', request('setup', `/v1/namespaces/${a.namespace}/keys/${revokedKey.keyId}/revoke`, `Bearer ${a.token}`, json({ reason: 'compromised in setup' })));
  const toolName = 'read_records';
  const published: { version: string; body: Buffer }[] = [];
  for (const version of ['1.0.0', '1.0.1']) {
    const body = json(await signed(a.key, manifestOf(a.namespace, syntheticDefinition(toolName, 1), version, new Date(options.now()).toISOString())));
    await ok(`publish ${version}`, request('setup', '/v1/tools', `Bearer ${a.token}`, body));
    published.push({ version, body });
  }
  await ok('version revoke', request('setup', `/v1/tools/${a.namespace}/${toolName}/versions/1.0.1/revoke`, `Bearer ${a.token}`, json({ reason: 'setup' })));
  // the JWKS: the public key an HS256-confusion attacker would use as the HMAC secret
  const jwks = await send({ label: 'setup', method: 'GET', path: '/.well-known/jwks.json', headers: {}, body: undefined });
  const registryJwk = ((jwks.body as { keys?: (Ed25519PublicJwk & { kid?: string })[] }).keys ?? []).find((k) => k.kid === options.registryKey.kid);
  if (registryJwk === undefined) throw new Error('setup: the JWKS does not list the registry key');
  return {
    origin: options.origin,
    adminToken: options.adminToken,
    now: options.now,
    a,
    b,
    revokedKey,
    revokedKeyToken,
    toolName,
    published,
    usedRegistration: ra.body,
    usedToken: ta.body,
    usedKeyAdd: keyAdd,
    registryJwk,
    registryKey: options.registryKey,
  };
}
