import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, type GeneratedKeyPair } from '../../protocol/index.js';
import {
  ADMIN_TOKEN,
  harness,
  keyAddBody,
  manifestOf,
  provider,
  publisherToken,
  publishReq,
  realTools,
  signed,
  snapshot,
  type Harness,
} from './helpers.js';

/** Issue 17, items 3, 6 and 8: `latest`, the versions list, limits and the key-revocation rules. */

const def = realTools('filesystem')[0]!;
const other = realTools('filesystem')[1]!;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function publish(hh: Harness, ns: string, key: GeneratedKeyPair, token: string, version: string, issuedAt?: string, definition = def): Promise<request.Response> {
  return publishReq(hh, token, await signed(key, manifestOf(ns, definition, version, issuedAt === undefined ? {} : { issuedAt })));
}

const adminRevokeKey = (hh: Harness, ns: string, keyId: string, revokedFrom: string): request.Test =>
  request(hh.app).post(`/v1/namespaces/${ns}/keys/${keyId}/revoke`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ revokedFrom, reason: 'compromised' });

/** A second key of `ns`, added by `first`, with its own publisher token. */
async function secondKey(hh: Harness, ns: string, first: { key: GeneratedKeyPair; token: string }): Promise<{ key: GeneratedKeyPair; token: string }> {
  const key = generateKeyPair();
  const res = await request(hh.app).post(`/v1/namespaces/${ns}/keys`).set('Authorization', `Bearer ${first.token}`).send(await keyAddBody(hh, ns, first.key, key));
  expect(res.status).toBe(201);
  return { key, token: await publisherToken(hh, ns, key) };
}

const latestOf = async (hh: Harness, toolId: string): Promise<string> => (await request(hh.app).get(`/v1/tools/${toolId}/versions/latest`)).body.version as string;

describe('a version whose signer key was revoked from before its publication', () => {
  it('is revoked and unattested even when its issuedAt is back-dated before the revocation (the publication time bounds back-dating)', async () => {
    h = await harness();
    const acme = await provider(h, 'com.acme');
    const toolId = `com.acme/${def.name}`;
    // a thief with the key back-dates issuedAt before the compromise time it expects to be named
    expect((await publish(h, 'com.acme', acme.key, acme.token, '1.0.0', '2020-01-01T00:00:00.000Z')).status).toBe(201);
    const revokedFrom = '2024-01-01T00:00:00.000Z'; // after issuedAt, before the publication
    expect((await adminRevokeKey(h, 'com.acme', acme.key.keyId, revokedFrom)).status).toBe(200);
    const status = await request(h.app).get(`/v1/tools/${toolId}/versions/1.0.0/status`);
    expect(status.body).toMatchObject({ status: 'revoked', attestation: '' });
    const list = await request(h.app).get(`/v1/tools/${toolId}/versions`);
    expect(list.body.versions).toEqual([expect.objectContaining({ version: '1.0.0', status: 'revoked' })]);
  });
});

describe('`latest`', () => {
  it('skips a version voided by its signer key revocation and serves the highest live one', async () => {
    h = await harness();
    const acme = await provider(h, 'com.acme');
    const toolId = `com.acme/${def.name}`;
    expect((await publish(h, 'com.acme', acme.key, acme.token, '1.0.0')).status).toBe(201);
    const newer = await secondKey(h, 'com.acme', acme);
    h.clock.now += 60_000;
    expect((await publish(h, 'com.acme', newer.key, newer.token, '2.0.0')).status).toBe(201);
    expect(await latestOf(h, toolId)).toBe('2.0.0');
    // the second key was stolen from before 2.0.0 was published
    expect((await adminRevokeKey(h, 'com.acme', newer.key.keyId, new Date(h.clock.now - 30_000).toISOString())).status).toBe(200);
    expect(await latestOf(h, toolId)).toBe('1.0.0');
    const bundles = await request(h.app).post('/v1/bundles').send({ versions: [{ toolId, version: 'latest' }] });
    expect(bundles.body.latest).toEqual([{ toolId, version: '1.0.0' }]);
  });

  it('skips a revoked version, and is the highest of all when every version is revoked', async () => {
    h = await harness();
    const acme = await provider(h, 'com.acme');
    const toolId = `com.acme/${def.name}`;
    for (const v of ['1.0.0', '1.1.0', '2.0.0']) expect((await publish(h, 'com.acme', acme.key, acme.token, v)).status).toBe(201);
    const revoke = (v: string): request.Test =>
      request(h!.app).post(`/v1/tools/${toolId}/versions/${v}/revoke`).set('Authorization', `Bearer ${acme.token}`).send({ reason: 'vulnerable' });
    expect((await revoke('2.0.0')).status).toBe(200);
    expect(await latestOf(h, toolId)).toBe('1.1.0');
    await revoke('1.1.0');
    await revoke('1.0.0');
    expect(await latestOf(h, toolId)).toBe('2.0.0');
  });
});

describe('the versions list', () => {
  it('is paged with an opaque cursor, newest first, and serves summaries without manifests', async () => {
    h = await harness();
    const acme = await provider(h, 'com.acme');
    const toolId = `com.acme/${def.name}`;
    const all = ['1.0.0', '1.0.1', '1.2.0', '2.0.0-rc.1', '2.0.0'];
    for (const v of all) expect((await publish(h, 'com.acme', acme.key, acme.token, v)).status).toBe(201);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const res = await request(h.app).get(`/v1/tools/${toolId}/versions`).query({ limit: '2', ...(cursor === undefined ? {} : { cursor }) });
      expect(res.status).toBe(200);
      for (const v of res.body.versions) expect(Object.keys(v).sort()).toEqual(['manifestDigest', 'publishedAt', 'status', 'version']);
      pages.push(res.body.versions.map((v: { version: string }) => v.version));
      cursor = res.body.nextCursor;
    } while (cursor !== undefined);
    expect(pages).toEqual([['2.0.0', '2.0.0-rc.1'], ['1.2.0', '1.0.1'], ['1.0.0']]);
  });

  it.each([
    ['a forged cursor', { cursor: 'bm90LWEtbnVtYmVy' }],
    ['a limit of 0', { limit: '0' }],
    ['a limit over 200', { limit: '201' }],
  ])('refuses %s with 400 BAD_REQUEST', async (_name, query) => {
    h = await harness();
    const acme = await provider(h, 'com.acme');
    expect((await publish(h, 'com.acme', acme.key, acme.token, '1.0.0')).status).toBe(201);
    const res = await request(h.app).get(`/v1/tools/com.acme/${def.name}/versions`).query(query);
    expect([res.status, res.body.code]).toEqual([400, 'BAD_REQUEST']);
  });
});

describe('the per-tool and per-namespace limits', () => {
  it('refuses a version beyond limits.versionsPerTool with 409 TOO_MANY_VERSIONS, leaving store and log as they were', async () => {
    h = await harness({ limits: { versionsPerTool: 3 } });
    const acme = await provider(h, 'com.acme');
    for (const v of ['1.0.0', '1.0.1', '1.0.2']) expect((await publish(h, 'com.acme', acme.key, acme.token, v)).status).toBe(201);
    const before = await snapshot(h);
    const res = await publish(h, 'com.acme', acme.key, acme.token, '1.0.3');
    expect([res.status, res.body.code]).toEqual([409, 'TOO_MANY_VERSIONS']);
    expect(res.body).toMatchObject({ max: 3, got: 4 });
    expect(await snapshot(h)).toEqual(before);
  });

  it('refuses a tool beyond limits.toolsPerNamespace with 409 TOO_MANY_TOOLS, leaving store and log as they were', async () => {
    h = await harness({ limits: { toolsPerNamespace: 1 } });
    const acme = await provider(h, 'com.acme');
    expect((await publish(h, 'com.acme', acme.key, acme.token, '1.0.0')).status).toBe(201);
    const before = await snapshot(h);
    const res = await publish(h, 'com.acme', acme.key, acme.token, '1.0.0', undefined, other);
    expect([res.status, res.body.code]).toEqual([409, 'TOO_MANY_TOOLS']);
    expect(res.body).toMatchObject({ max: 1, got: 2 });
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('key revocation by a provider key', () => {
  it('refuses a newer key revoking an older one from before the newer key existed (REVOCATION_NEEDS_ADMIN), leaving store and log as they were', async () => {
    h = await harness();
    const first = await provider(h, 'com.acme');
    expect((await publish(h, 'com.acme', first.key, first.token, '1.0.0')).status).toBe(201);
    h.clock.now += 60_000;
    const newcomer = await secondKey(h, 'com.acme', first); // added a minute later
    const before = await snapshot(h);
    const res = await request(h.app)
      .post(`/v1/namespaces/com.acme/keys/${first.key.keyId}/revoke`)
      .set('Authorization', `Bearer ${newcomer.token}`)
      .send({ revokedFrom: '2000-01-01T00:00:00.000Z', reason: 'takeover' });
    expect([res.status, res.body.code]).toEqual([403, 'REVOCATION_NEEDS_ADMIN']);
    expect(await snapshot(h)).toEqual(before);
    expect((await request(h.app).get(`/v1/tools/com.acme/${def.name}/versions/1.0.0/status`)).body.status).toBe('active');
  });

  it.each([
    ['a newer key, from the time it was added on', 'newer', 'older', (k: { addedAt: string }) => k.addedAt],
    ['an older key, back in time', 'older', 'newer', () => '2000-01-01T00:00:00.000Z'],
    ['a key revoking itself, back in time', 'newer', 'newer', () => '2000-01-01T00:00:00.000Z'],
  ] as const)('allows %s', async (_name, by, target, from) => {
    h = await harness();
    const older = await provider(h, 'com.acme');
    h.clock.now += 60_000;
    const newer = await secondKey(h, 'com.acme', older);
    const keys = { older, newer };
    const revoking = (await request(h.app).get('/v1/namespaces/com.acme/keys')).body.find((k: { keyId: string }) => k.keyId === keys[by].key.keyId);
    const res = await request(h.app)
      .post(`/v1/namespaces/com.acme/keys/${keys[target].key.keyId}/revoke`)
      .set('Authorization', `Bearer ${keys[by].token}`)
      .send({ revokedFrom: from(revoking), reason: 'rotated' });
    expect(res.status).toBe(200);
  });

  it('lets the administrator revoke any key from any time', async () => {
    h = await harness();
    const first = await provider(h, 'com.acme');
    h.clock.now += 60_000;
    await secondKey(h, 'com.acme', first);
    expect((await adminRevokeKey(h, 'com.acme', first.key.keyId, '2000-01-01T00:00:00.000Z')).status).toBe(200);
  });
});
