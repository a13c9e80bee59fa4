import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../protocol/index.js';
import type { VersionRecord } from '../../schemas/index.js';
import { VerificationError, createTrustRoot, verifyAttestation, type ExpectedAttestation } from '../../client-verifier/index.js';
import type { FixtureRegistry } from './support/fixture-registry.js';
import { newRegistry, realTools, tempDir } from './support/setup.js';

let dir: { dir: string; cleanup: () => void };
let reg: FixtureRegistry;
let record: VersionRecord;
let expected: ExpectedAttestation;

beforeAll(async () => {
  dir = tempDir();
  reg = newRegistry(dir.dir);
  reg.registerNamespace('com.acme');
  record = await reg.publish('com.acme', realTools()[0]!, { version: '1.0.0', permissions: ['kg:write', 'kg:read'] });
  expected = {
    toolId: record.toolId,
    version: record.version,
    provider: record.provider,
    definitionDigest: record.definitionDigest,
    manifestDigest: record.manifestDigest,
    permissions: ['kg:read', 'kg:write'],
    leafIndex: record.leafIndex,
  };
});
afterAll(async () => {
  await reg.close();
  dir.cleanup();
});

describe('verifyAttestation', () => {
  it('accepts a fresh token whose claims match (scope order does not matter)', async () => {
    const claims = await verifyAttestation(await reg.attestation(record), createTrustRoot(reg.trustRootConfig()), expected);
    expect(claims.sub).toBe(record.toolId);
  });

  describe('when the token is wrong', () => {
    const now = (): number => Math.floor(Date.now() / 1000);
    it.each<[string, () => Promise<{ token: string; trust?: Partial<ReturnType<FixtureRegistry['trustRootConfig']>> }>]>([
      ['another issuer pinned', async () => ({ token: await reg.attestation(record), trust: { issuer: 'https://other.test' } })],
      ['another audience expected', async () => ({ token: await reg.attestation(record), trust: { audience: 'someone-else' } })],
      ['expired', async () => ({ token: await reg.attestation(record, { iat: now() - 4000, exp: now() - 3000 }) })],
      ['issued in the future', async () => ({ token: await reg.attestation(record, { iat: now() + 3000, exp: now() + 3600 }) })],
      ['lives longer than a day', async () => ({ token: await reg.attestation(record, { iat: now(), exp: now() + 7 * 86400 }) })],
      ['other version', async () => ({ token: await reg.attestation(record, { claims: { tool_version: '9.9.9' } }) })],
      ['other provider', async () => ({ token: await reg.attestation(record, { claims: { provider: 'com.evil' } }) })],
      ['other manifest digest', async () => ({ token: await reg.attestation(record, { claims: { manifest_digest: 'sha256:' + '1'.repeat(64) } }) })],
      ['more scopes', async () => ({ token: await reg.attestation(record, { claims: { scope: 'kg:read kg:write admin' } }) })],
      ['repeated scope', async () => ({ token: await reg.attestation(record, { claims: { scope: 'kg:read kg:write kg:read' } }) })],
      ['other log index', async () => ({ token: await reg.attestation(record, { claims: { log_index: record.leafIndex + 1 } }) })],
      ['signed by an unpinned key', async () => ({ token: await reg.attestation(record, { key: generateKeyPair() }) })],
      ['not a JWT', async () => ({ token: 'not.a.jwt' })],
    ])('%s -> ATTESTATION_INVALID', async (_name, make) => {
      const { token, trust } = await make();
      const root = createTrustRoot({ ...reg.trustRootConfig(), ...trust });
      const error = await verifyAttestation(token, root, expected).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).code).toBe('ATTESTATION_INVALID');
    });
  });
});

describe('createTrustRoot', () => {
  it.each([
    ['no pinned key', { pinnedKeyIds: [] }],
    ['a pinned key absent from the JWKS', { pinnedKeyIds: [generateKeyPair().keyId] }],
    ['no log key', { logKey: '' }],
  ])('refuses %s with a TypeError', (_name, change) => {
    expect(() => createTrustRoot({ ...reg.trustRootConfig(), ...change })).toThrow(TypeError);
  });
});
