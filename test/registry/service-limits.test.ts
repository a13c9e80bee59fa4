import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { parseStrictJson } from '../../protocol/index.js';
import { SqliteStore, startServer, type RunningRegistry } from '../../registry/index.js';
import { PUBLISHER_JWT_TYPE, ReadinessSchema, type Ed25519PrivateJwk } from '../../schemas/index.js';
import { ADMIN_TOKEN, TEST_STORE, bundledWriteWorker, harness, manifestOf, ORIGIN, provider, publishReq, realTools, signed, type Harness } from './helpers.js';

/** Issue 17, item 5: the limits a public service needs. */

const def = realTools('filesystem')[0]!;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function waitUntil(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A publisher token for `namespace`, minted directly with the registry's own current signing key. */
async function mintedToken(hh: Harness, namespace: string, keyId: string, iat: number, exp: number): Promise<string> {
  const row = (await hh.store.registryKeys('jwt')).find((r) => r.retired_at === null)!;
  const jwk = parseStrictJson(row.private_jwk) as Ed25519PrivateJwk;
  return new SignJWT({ key_id: keyId })
    .setProtectedHeader({ alg: 'EdDSA', typ: PUBLISHER_JWT_TYPE, kid: row.kid })
    .setIssuer(ORIGIN)
    .setAudience(ORIGIN)
    .setSubject(namespace)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti('minted-in-test')
    .sign(createPrivateKey({ key: jwk, format: 'jwk' }));
}

describe('publisher tokens', () => {
  it.each([
    // past its age, the token has expired for this registry: the publisher's fix is a new token
    ['issued two hours ago with a 100-year exp', -7200, 100 * 365 * 86400, 'TOKEN_EXPIRED'],
    // never valid: its lifetime is longer than any token this registry issues
    ['issued now with a 100-year exp', 0, 100 * 365 * 86400, 'UNAUTHENTICATED'],
  ])('refuses a token signed by the registry key itself past the maximum age: %s', async (_name, iatOffset, lifetime, code) => {
    h = await harness();
    const acme = await provider(h, 'com.acme');
    const nowS = Math.floor(h.clock.now / 1000);
    const token = await mintedToken(h, 'com.acme', acme.key.keyId, nowS + iatOffset, nowS + iatOffset + lifetime);
    const res = await publishReq(h, token, await signed(acme.key, manifestOf('com.acme', def, '1.0.0')));
    expect([res.status, res.body.code]).toEqual([401, code]);
    // the same key's token within the maximum age is accepted: the refusal is the age alone
    const fresh = await mintedToken(h, 'com.acme', acme.key.keyId, nowS, nowS + 600);
    expect((await publishReq(h, fresh, await signed(acme.key, manifestOf('com.acme', def, '1.0.0')))).status).toBe(201);
  });

  it('refuses a remembered token once its maximum age has passed, though its exp has not', async () => {
    h = await harness({ publisherTokenTtlSeconds: 60, publisherTokenMaxAgeSeconds: 120 });
    const acme = await provider(h, 'com.acme');
    const nowS = Math.floor(h.clock.now / 1000);
    const token = await mintedToken(h, 'com.acme', acme.key.keyId, nowS, nowS + 100);
    expect((await publishReq(h, token, await signed(acme.key, manifestOf('com.acme', def, '1.0.0')))).status).toBe(201);
    h.clock.now += 101_000;
    expect((await publishReq(h, token, await signed(acme.key, manifestOf('com.acme', def, '1.0.1')))).body.code).toBe('TOKEN_EXPIRED');
  });
});

describe('an emergency revocation of a registry signing key', () => {
  it('takes the key out of the JWKS and ends its tokens at once (a rotation keeps it for the overlap)', async () => {
    h = await harness();
    const acme = await provider(h, 'com.acme'); // its token is signed, and remembered, with the current key
    expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.0.0')))).status).toBe(201);
    const compromised = (await request(h.app).get('/.well-known/jwks.json')).body.keys[0].kid as string;
    const res = await request(h.app).post(`/v1/admin/registry-keys/${compromised}/revoke`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ revoked: compromised });
    expect(res.body.kid).not.toBe(compromised);
    const kids = (await request(h.app).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).toEqual([res.body.kid]);
    // the publisher token it signed is refused now, not in 20 minutes
    const refused = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.0.1')));
    expect([refused.status, refused.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    // attestations are signed by the new key from now on
    const status = await request(h.app).get(`/v1/tools/com.acme/${def.name}/versions/1.0.0/status`);
    expect(JSON.parse(Buffer.from(status.body.attestation.split('.')[0], 'base64url').toString()).kid).toBe(res.body.kid);
  });

  it.each([
    ['without the administrator token', undefined, 401],
    ['for an unknown key', ADMIN_TOKEN, 404],
  ])('is refused %s', async (_name, token, status) => {
    h = await harness();
    const req = request(h.app).post('/v1/admin/registry-keys/no-such-kid/revoke');
    const res = await (token === undefined ? req : req.set('Authorization', `Bearer ${token}`));
    expect(res.status).toBe(status);
  });
});

describe.skipIf(TEST_STORE === 'postgres')('the write worker', () => {
  it('is restarted when it dies, and /readyz says ready again (publishes go on)', async () => {
    h = await harness({ writeWorker: bundledWriteWorker() });
    const acme = await provider(h, 'com.acme');
    expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.0.0')))).status).toBe(201);
    await h.app.registry.ctx.queue.crashWorkerForDrill();
    await waitUntil(async () => (await request(h!.app).get('/readyz')).status === 200);
    const ready = ReadinessSchema.parse((await request(h.app).get('/readyz')).body);
    expect(ready).toEqual({ status: 'ready', checks: { database: 'ok', log: 'ok', writer: 'ok' }, writerRestarts: 1 });
    expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.0.1')))).status).toBe(201);
  });

  it('when it keeps dying, stays down: /readyz is 503 and publishes get 503 WRITER_UNAVAILABLE, not 500', async () => {
    h = await harness({ writeWorker: bundledWriteWorker(), writeWorkerRestartsPerMinute: 0 });
    const acme = await provider(h, 'com.acme');
    expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.0.0')))).status).toBe(201);
    await h.app.registry.ctx.queue.crashWorkerForDrill();
    await waitUntil(async () => (await request(h!.app).get('/readyz')).status === 503);
    expect((await request(h.app).get('/readyz')).body).toMatchObject({ status: 'unready', checks: { writer: 'failed' } });
    const res = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', def, '1.0.1')));
    expect([res.status, res.body.code]).toEqual([503, 'WRITER_UNAVAILABLE']);
    expect((await request(h.app).get('/healthz')).status).toBe(200); // the process itself is up
  });
});

describe('connections', () => {
  let running: RunningRegistry | undefined;
  let dir = '';
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await running?.close();
    running = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (config: Record<string, number>): Promise<RunningRegistry> => {
    dir = mkdtempSync(join(tmpdir(), 'etdi-conn-'));
    const store = SqliteStore.open({ path: join(dir, 'registry.db') });
    return (running = await startServer({ store, port: 0, config: { requestLog: false, rateLimit: false, errorLog: () => undefined, ...config } }));
  };
  /** A connection that sends half a request line and then nothing (slowloris). */
  const slowHeader = (port: number): Promise<{ socket: Socket; closed: Promise<void> }> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET /v1/tools HTTP/1.1\r\nHost: x\r\n');
        resolve({ socket, closed: new Promise<void>((r) => socket.once('close', () => r())) });
      });
      socket.on('error', () => undefined);
      socket.resume(); // read what the server sends (a 408), so that 'close' comes
      sockets.push(socket);
    });

  it('closes a slow-header connection after headersTimeoutMs', async () => {
    const r = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 });
    const { closed } = await slowHeader(Number(new URL(r.url).port));
    let done = false;
    void closed.then(() => (done = true));
    await waitUntil(() => done, 5_000);
  });

  it('holds at most maxConnections connections: the ones beyond are dropped at once', async () => {
    const r = await start({ maxConnections: 4, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const port = Number(new URL(r.url).port);
    const opened = await Promise.all(Array.from({ length: 10 }, () => slowHeader(port)));
    let closedCount = 0;
    for (const o of opened) void o.closed.then(() => closedCount++);
    await waitUntil(() => closedCount >= 6, 5_000);
    await new Promise((r2) => setTimeout(r2, 200));
    expect(closedCount).toBe(6);
  });
});
