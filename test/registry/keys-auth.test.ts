import { SignJWT, importJWK } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize, generateKeyPair, type GeneratedKeyPair } from '../../protocol/index.js';
import type { Ed25519PrivateJwk } from '../../schemas/index.js';
import { auditTail,
  ADMIN_TOKEN,
  ORIGIN,
  harness,
  keyAddBody,
  manifestOf,
  provider,
  publisherToken,
  publishReq,
  realTools,
  signed,
  snapshot,
  tokenBody,
  type Harness,
} from './helpers.js';

const def = realTools('memory')[0]!;

describe('keys', () => {
  let h: Harness;
  let acme: { key: GeneratedKeyPair; token: string };
  let globex: { key: GeneratedKeyPair; token: string };
  beforeAll(async () => {
    h = await harness();
    acme = await provider(h, 'com.acme');
    globex = await provider(h, 'com.globex');
  });
  afterAll(() => h.close());

  describe('when an active key authorises a new key', () => {
    it('adds it (key.added event, listed active) and the new key can publish', async () => {
      const fresh = generateKeyPair();
      const before = await snapshot(h);
      const res = await request(h.app).post('/v1/namespaces/com.acme/keys').set('Authorization', `Bearer ${acme.token}`).send(await keyAddBody(h, 'com.acme', acme.key, fresh));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ keyId: fresh.keyId, status: 'active' });
      expect((await snapshot(h)).logSize).toBe(before.logSize + 1);
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ kind: 'key.added', authorizedBy: acme.key.keyId });
      const token = await publisherToken(h, 'com.acme', fresh);
      expect((await publishReq(h, token, await signed(fresh, manifestOf('com.acme', def, '1.0.0')))).status).toBe(201);
    });
  });

  describe('when a key addition is refused', () => {
    const cases: [string, () => Promise<{ body: unknown; token: string; ns?: string }>, number, string][] = [
      ['authorised by a key outside the namespace', async () => ({ body: await keyAddBody(h, 'com.acme', globex.key, generateKeyPair()), token: acme.token }), 403, 'UNTRUSTED_SIGNER'],
      ['authorising signature by another key', async () => ({ body: await keyAddBody(h, 'com.acme', acme.key, generateKeyPair(), globex.key), token: acme.token }), 422, 'BAD_PROOF'],
      ['no proof of possession of the new key', async () => {
        const body = (await keyAddBody(h, 'com.acme', acme.key, generateKeyPair())) as { signature: string; proof: string };
        body.proof = body.signature;
        return { body, token: acme.token };
      }, 422, 'BAD_PROOF'],
      ['key already present', async () => ({ body: await keyAddBody(h, 'com.acme', acme.key, acme.key), token: acme.token }), 409, 'KEY_EXISTS'],
      ["publisher of another namespace", async () => ({ body: await keyAddBody(h, 'com.acme', acme.key, generateKeyPair()), token: globex.token }), 403, 'FORBIDDEN'],
    ];
    it.each(cases)('refuses %s, store and log unchanged', async (_n, make, status, code) => {
      const { body, token } = await make();
      const before = await snapshot(h);
      const res = await request(h.app).post('/v1/namespaces/com.acme/keys').set('Authorization', `Bearer ${token}`).send(body as object);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.code).toBe(code);
      expect(await snapshot(h)).toEqual(before);
    });
  });

  describe('when a key is revoked', () => {
    it('records revokedFrom; its signatures from then on are refused at publish; served status says so', async () => {
      const k = await provider(h, 'com.initech');
      const early = await signed(k.key, manifestOf('com.initech', def, '1.0.0', { issuedAt: new Date(h.clock.now - 60_000).toISOString() }));
      expect((await publishReq(h, k.token, early)).status).toBe(201);
      const late = await signed(k.key, manifestOf('com.initech', def, '2.0.0'));
      const revokedFrom = new Date(h.clock.now - 120_000).toISOString(); // compromise before the first manifest
      const res = await request(h.app)
        .post(`/v1/namespaces/com.initech/keys/${k.key.keyId}/revoke`)
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .send({ revokedFrom, reason: 'key leaked' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ status: 'revoked', revokedFrom, reason: 'key leaked' });
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ kind: 'key.revoked', revokedFrom });

      const before = await snapshot(h);
      const refused = await publishReq(h, ADMIN_TOKEN, late);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('KEY_REVOKED');
      expect(await snapshot(h)).toEqual(before);

      const status = await request(h.app).get(`/v1/tools/com.initech/${def.name}/versions/1.0.0/status`);
      expect(status.body).toMatchObject({ status: 'revoked', signerKey: { status: 'revoked', revokedFrom }, attestation: '' });
      // a token obtained with the key dies with it
      const denied = await publishReq(h, k.token, late);
      expect(denied.status).toBe(401);
    });

    it.each([
      ['unknown key', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { reason: 'x' }, 404, 'KEY_NOT_FOUND'],
      ['no reason', undefined, {}, 422, 'SCHEMA_INVALID'],
    ])('refuses revoking an %s, store and log unchanged', async (_n, keyId, body, status, code) => {
      const before = await snapshot(h);
      const res = await request(h.app)
        .post(`/v1/namespaces/com.acme/keys/${keyId ?? acme.key.keyId}/revoke`)
        .set('Authorization', `Bearer ${acme.token}`)
        .send(body);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(await snapshot(h)).toEqual(before);
    });
  });
});

describe('publisher tokens', () => {
  let h: Harness;
  let acme: { key: GeneratedKeyPair; token: string };
  let registryKey: Ed25519PrivateJwk;
  beforeAll(async () => {
    h = await harness();
    acme = await provider(h, 'com.acme');
    await provider(h, 'com.globex');
    registryKey = JSON.parse((await h.store.registryKeys('jwt'))[0]!.private_jwk) as Ed25519PrivateJwk;
  });
  afterAll(() => h.close());

  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = (): number => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: ORIGIN, aud: ORIGIN, sub: 'com.acme', key_id: acme.key.keyId, iat: now(), exp: now() + 600, jti: 'x', ...over,
  });
  const sign = async (c: Record<string, unknown>, typ = 'etdi-publisher+jwt'): Promise<string> =>
    new SignJWT(c).setProtectedHeader({ alg: 'EdDSA', typ, kid: registryKey.kid }).sign(await importJWK(registryKey, 'EdDSA'));

  it('issues a token against a fresh statement signed by an active key', async () => {
    const res = await request(h.app).post('/v1/tokens').send(await tokenBody(h, 'com.acme', acme.key));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ token_type: 'Bearer', namespace: 'com.acme', expires_in: 900 });
  });

  it.each([
    ['replayed statement', async () => {
      const body = await tokenBody(h, 'com.acme', acme.key);
      await request(h.app).post('/v1/tokens').send(body);
      return body;
    }, 409, 'STATEMENT_REPLAYED'],
    ['statement for another registry', () => tokenBody(h, 'com.acme', acme.key, 'https://other.test'), 422, 'WRONG_REGISTRY'],
    ['key of another namespace', () => tokenBody(h, 'com.globex', acme.key), 403, 'UNTRUSTED_SIGNER'],
  ])('refuses a token request: %s', async (_n, make, status, code) => {
    const body = await make();
    const before = await snapshot(h);
    const res = await request(h.app).post('/v1/tokens').send(body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect((await snapshot(h)).logSize).toBe(before.logSize);
  });

  const attacks: [string, () => Promise<string>, number, string?][] = [
    ['alg none', async () => `${b64({ alg: 'none', typ: 'etdi-publisher+jwt' })}.${b64(claims())}.`, 401],
    ['HS256 with the public key as the secret', async () => {
      const pub = Buffer.from(JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: registryKey.x }));
      return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'etdi-publisher+jwt', kid: registryKey.kid }).sign(new Uint8Array(pub));
    }, 401],
    ['expired (its own code: get a new one)', () => sign(claims({ iat: now() - 7200, exp: now() - 3600 })), 401, 'TOKEN_EXPIRED'],
    ['wrong audience', () => sign(claims({ aud: 'https://other.test' })), 401],
    ['wrong issuer', () => sign(claims({ iss: 'https://evil.test' })), 401],
    ['wrong typ (an attestation token)', () => sign(claims(), 'etdi-attestation+jwt'), 401],
    ['signed by a key that is not the registry', async () => {
      const k = generateKeyPair().privateJwk;
      return new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: 'etdi-publisher+jwt', kid: registryKey.kid }).sign(await importJWK(k, 'EdDSA'));
    }, 401],
    ['garbage', async () => 'not.a.jwt', 401],
    ['valid token of another namespace', () => sign(claims({ sub: 'com.globex', key_id: acme.key.keyId })), 401],
  ];
  it.each(attacks)('refuses a forged token: %s', async (_n, make, status, code = 'UNAUTHENTICATED') => {
    const token = await make();
    const before = await snapshot(h);
    const res = await publishReq(h, token, await signed(acme.key, manifestOf('com.acme', def, '9.0.0')));
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(await snapshot(h)).toEqual(before);
  });

  describe('when a token was accepted before (verified tokens are remembered until exp)', () => {
    it('refuses it once it has expired', async () => {
      const p = await provider(h, 'net.expiring');
      expect((await publishReq(h, p.token, await signed(p.key, manifestOf('net.expiring', def, '1.0.0')))).status).toBe(201);
      const saved = h.clock.now;
      h.clock.now += 24 * 3600 * 1000;
      try {
        const res = await publishReq(h, p.token, await signed(p.key, manifestOf('net.expiring', def, '1.0.1')));
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('TOKEN_EXPIRED');
        expect(res.body.detail).toMatch(/run etdi token again/);
      } finally {
        h.clock.now = saved;
      }
    });

    it('refuses it once its key is revoked', async () => {
      const p = await provider(h, 'net.leaky');
      expect((await publishReq(h, p.token, await signed(p.key, manifestOf('net.leaky', def, '1.0.0')))).status).toBe(201);
      const revoke = await request(h.app)
        .post(`/v1/namespaces/net.leaky/keys/${p.key.keyId}/revoke`)
        .set('authorization', `Bearer ${ADMIN_TOKEN}`)
        .send({ reason: 'key leaked' });
      expect(revoke.status).toBe(200);
      const res = await publishReq(h, p.token, await signed(p.key, manifestOf('net.leaky', def, '1.0.1')));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    });
  });

  it("refuses a genuine token of another namespace for this namespace's write (403)", async () => {
    const hooli = await provider(h, 'org.hooli');
    const before = await snapshot(h);
    const res = await publishReq(h, hooli.token, await signed(acme.key, manifestOf('com.acme', def, '9.0.0')));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('NAMESPACE_MISMATCH');
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('the store key cache (publishes and tokens read keys from it)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  describe('when a transaction that wrote a key rolls back', () => {
    it('never serves the rolled-back key, and serves committed changes at once', async () => {
      const store = h.store;
      const key = generateKeyPair();
      const at = new Date().toISOString();
      const jwk = canonicalize(key.publicJwk);
      await store.transaction((tx) =>
        tx.insertNamespace({ namespace: 'com.cache', skeleton: 'com.cache', verification: 'admin-grant', registered_at: at, registered_by: 'test', leaf_index: 0 }),
      );
      expect(await store.listKeys('com.cache')).toEqual([]); // cached: no keys
      await expect(
        store.transaction(async (tx) => {
          await tx.insertKey({ namespace: 'com.cache', key_id: key.keyId, jwk, added_at: at, added_by: 'test', leaf_index: 0 });
          // inside the transaction the row is visible; a committed read meanwhile does not see it
          expect((await tx.getKey('com.cache', key.keyId))?.key_id).toBe(key.keyId);
          expect(await store.getKey('com.cache', key.keyId)).toBeUndefined();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.getKey('com.cache', key.keyId)).toBeUndefined();
      expect(await store.listKeys('com.cache')).toEqual([]);
      await store.transaction((tx) => tx.insertKey({ namespace: 'com.cache', key_id: key.keyId, jwk, added_at: at, added_by: 'test', leaf_index: 0 }));
      expect((await store.getKey('com.cache', key.keyId))?.revoked_from).toBeNull();
      await store.transaction((tx) => tx.revokeKey('com.cache', key.keyId, at, at, 'test'));
      expect((await store.getKey('com.cache', key.keyId))?.revoked_from).toBe(at);
      expect((await store.listKeys('com.cache')).map((k) => k.revoked_from)).toEqual([at]);
    });
  });
});
