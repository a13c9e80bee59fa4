import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bytesEqual, canonicalize, decodeNote, generateKeyPair, parseCheckpoint, signManifest } from '../../protocol/index.js';
import type { SignedManifest } from '../../schemas/index.js';
import { createApp, fsckRegistry, SqliteStore, TransparencyLog } from '../../registry/index.js';
import {
  ADMIN_TOKEN,
  bundledWriteWorker,
  harness,
  keyAddBody,
  manifestOf,
  provider,
  publishReq,
  realTools,
  signed,
  snapshot,
  WRITERS,
  type Harness,
} from './helpers.js';

const tools = realTools('filesystem');
const LOG_ORIGIN = 'registry.test/log';

/**
 * The files as they are right now (the database and its WAL; SQLite rebuilds the WAL index from
 * the WAL), opened as another registry would open them after a crash of this process.
 */
async function copyFiles(h: Harness): Promise<{ store: SqliteStore; log: TransparencyLog; dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-copy-'));
  for (const suffix of ['', '-wal']) {
    const from = join(h.dir, `registry.db${suffix}`);
    if (existsSync(from)) copyFileSync(from, join(dir, `registry.db${suffix}`));
  }
  const store = SqliteStore.open({ path: join(dir, 'registry.db') });
  return {
    store,
    log: await TransparencyLog.open(store, { origin: LOG_ORIGIN }),
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.each(WRITERS)('publishes committed on the %s', (writer, writerConfig) => {
  let h: Harness | undefined;
  afterEach(() => h?.close());

  describe('when a publish is acknowledged', () => {
    it('is already in the files, with its leaf under the newest checkpoint there', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      const res = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.0.0')));
      expect(res.status).toBe(201);
      // copied the moment the acknowledgement arrived: what a crash right now would leave
      const copy = await copyFiles(h);
      try {
        const row = await copy.store.getVersion(res.body.toolId, '1.0.0');
        expect(row?.manifest_digest).toBe(res.body.manifestDigest);
        const report = await fsckRegistry(copy.store);
        expect(report.problems).toEqual([]);
        expect(report.newestCheckpointSize).toBe(report.size);
        expect(report.size).toBeGreaterThan(row!.leaf_index);
      } finally {
        await copy.dispose();
      }
    });

    it('was committed on a WAL connection with synchronous = FULL', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.0.0')))).status).toBe(201);
      const stats = h.app.registry.ctx.queue.stats;
      expect(stats.writer).toBe(writer === 'write worker' ? 'worker' : 'main-thread');
      expect(stats.journalMode).toBe('wal');
      expect(stats.synchronous).toBe(2); // FULL: COMMIT returns after the WAL's fsync
    });
  });

  describe('when checkpoints are read while many publishes commit', () => {
    it('serves only tree heads whose leaves are committed, each consistent with the last', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      const bodies = await Promise.all(tools.slice(0, 14).map((d) => signed(acme.key, manifestOf('com.acme', d, '1.0.0'))));
      const seen: { size: number; rootHash: Uint8Array }[] = [];
      const poll = async (): Promise<void> => {
        for (let i = 0; i < 6; i++) {
          const res = await request(h!.app).get('/v1/log/checkpoint').expect(200);
          const cp = parseCheckpoint(decodeNote(res.text).text, LOG_ORIGIN);
          // whatever was served is in the files at the moment it arrived
          const copy = await copyFiles(h!);
          try {
            expect(await copy.log.size()).toBeGreaterThanOrEqual(cp.size);
            expect(bytesEqual(await copy.log.rootHash(cp.size), cp.rootHash)).toBe(true);
          } finally {
            await copy.dispose();
          }
          seen.push(cp);
        }
      };
      const [results] = await Promise.all([Promise.all(bodies.map((b) => publishReq(h!, acme.token, b))), poll(), poll()]);
      expect(results.map((r) => r.status)).toEqual(Array(14).fill(201));
      for (const cp of seen) expect(bytesEqual(await h.log.rootHash(cp.size), cp.rootHash)).toBe(true);
      expect((await fsckRegistry(h.store)).problems).toEqual([]);
    });
  });

  describe('when a key is revoked while its publishes are in flight', () => {
    it('refuses every publish submitted after the revocation was acknowledged; log and tables agree', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      const before = await Promise.all(tools.slice(0, 6).map((d) => signed(acme.key, manifestOf('com.acme', d, '1.0.0'))));
      const after = await Promise.all(tools.slice(6, 12).map((d) => signed(acme.key, manifestOf('com.acme', d, '1.0.0'))));
      const revoke = request(h.app)
        .post(`/v1/namespaces/com.acme/keys/${acme.key.keyId}/revoke`)
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .send({ revokedFrom: new Date(h.clock.now).toISOString(), reason: 'rotated out' })
        .then((r) => r);
      // publishes racing the revocation: each is either committed before it or refused
      const racing = await Promise.all([...before.map((b) => publishReq(h!, ADMIN_TOKEN, b)), revoke]);
      expect(racing.at(-1)!.status).toBe(200);
      for (const r of racing.slice(0, -1)) expect([201, 403]).toContain(r.status);
      const late = await Promise.all(after.map((b) => publishReq(h!, ADMIN_TOKEN, b)));
      expect(late.map((r) => r.body.code)).toEqual(Array(6).fill('KEY_REVOKED'));
      const report = await fsckRegistry(h.store);
      expect(report.problems).toEqual([]);
      expect((await h.store.counts()).versions).toBe(racing.filter((r) => r.status === 201).length);
    });
  });

  describe('when refused and accepted publishes share a batch', () => {
    /** The last character of the signature changed: still base64url, no longer a valid signature. */
    const forged = (sm: SignedManifest, i = 0): SignedManifest => ({
      ...sm,
      signatures: sm.signatures.map((s, n) => (n === i ? { ...s, sig: s.sig.slice(0, -2) + (s.sig.at(-2) === 'A' ? 'B' : 'A') + s.sig.at(-1) } : s)),
    });
    it('writes exactly the accepted ones; each refusal has its code and leaves no trace', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      // a second active key of the namespace, for a manifest signed by both
      const second = generateKeyPair();
      const added = await request(h.app)
        .post('/v1/namespaces/com.acme/keys')
        .set('Authorization', `Bearer ${acme.token}`)
        .send(await keyAddBody(h, 'com.acme', acme.key, second));
      expect(added.status).toBe(201);
      const first = await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.0.0'));
      expect((await publishReq(h, acme.token, first)).status).toBe(201);
      const twoKeys = await signManifest(manifestOf('com.acme', tools[5]!, '1.0.0'), [acme.key.privateJwk, second.privateJwk]);
      const cases: [string, unknown, number, string | undefined][] = [
        ['valid', await signed(acme.key, manifestOf('com.acme', tools[1]!, '1.0.0')), 201, undefined],
        ['forged signature', forged(await signed(acme.key, manifestOf('com.acme', tools[2]!, '1.0.0'))), 422, 'BAD_SIGNATURE'],
        ['valid, idempotent republish', first, 200, undefined],
        ['same version, other content', await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.0.0', { permissions: ['files:write'] })), 409, 'VERSION_EXISTS'],
        ['valid, two signatures', twoKeys, 201, undefined],
        ['two signatures, the second forged', forged(await signManifest(manifestOf('com.acme', tools[6]!, '1.0.0'), [acme.key.privateJwk, second.privateJwk]), 1), 422, 'BAD_SIGNATURE'],
        ['forged signature of an existing version', forged(first), 422, 'BAD_SIGNATURE'],
        ['lower version', await signed(acme.key, manifestOf('com.acme', tools[0]!, '0.9.0')), 409, 'VERSION_NOT_HIGHER'],
        ['valid, second tool', await signed(acme.key, manifestOf('com.acme', tools[3]!, '1.0.0')), 201, undefined],
      ];
      const before = await snapshot(h);
      const results = await Promise.all(cases.map(([, body]) => publishReq(h!, acme.token, body)));
      cases.forEach(([name, , status, code], i) => {
        expect([name, results[i]!.status, results[i]!.body.code]).toEqual([name, status, code]);
      });
      const after = await snapshot(h);
      expect(after.counts.versions).toBe(before.counts.versions + 3);
      expect(after.logSize).toBe(before.logSize + 3);
      expect((await fsckRegistry(h.store)).problems).toEqual([]);
      // the refused versions are nowhere
      expect(await h.store.getVersion(`com.acme/${tools[2]!.name}`, '1.0.0')).toBeUndefined();
      expect(await h.store.getVersion(`com.acme/${tools[6]!.name}`, '1.0.0')).toBeUndefined();
      // the accepted two-key manifest is stored as JCS(signed manifest), both signatures kept
      expect((await h.store.getVersion(`com.acme/${tools[5]!.name}`, '1.0.0'))!.signed_manifest).toBe(canonicalize(twoKeys));
    });

    it('stores and serves JCS(signed manifest) whatever the received text looked like', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      const sm = await signed(acme.key, manifestOf('com.acme', tools[1]!, '1.0.0'));
      // whitespace, the signature's members and the envelope's in another order
      const sig = sm.signatures[0]!;
      const text = `{ "signatures" : [ {"sig":"${sig.sig}", "alg":"EdDSA", "keyId":"${sig.keyId}"} ],\n "manifest": ${JSON.stringify(sm.manifest, null, 2)} }`;
      const res = await publishReq(h, acme.token, text);
      expect(res.status).toBe(201);
      const record = await request(h.app).get(`/v1/tools/com.acme/${tools[1]!.name}/versions/1.0.0`).expect(200);
      expect(JSON.stringify(JSON.parse(record.text).signedManifest)).toBe(canonicalize(sm));
      expect((await h.store.getVersion(`com.acme/${tools[1]!.name}`, '1.0.0'))!.signed_manifest).toBe(canonicalize(sm));
    });
  });

  describe('when the store closes', () => {
    it('closes the writer first: the event loop connection is the last and removes the WAL', async () => {
      h = await harness(writerConfig());
      const acme = await provider(h, 'com.acme');
      expect((await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.0.0')))).status).toBe(201);
      const { dir } = h;
      await h.store.close();
      expect(existsSync(join(dir, 'registry.db-wal'))).toBe(false);
      const reopened = SqliteStore.open({ path: join(dir, 'registry.db') });
      expect((await reopened.counts()).versions).toBe(1);
      await reopened.close();
    });

    it('refuses later writes instead of leaving them pending', async () => {
      h = await harness(writerConfig());
      const queue = h.app.registry.ctx.queue;
      await h.store.close();
      await expect(queue.submit(async () => 1)).rejects.toThrow('the registry store is closed');
      await expect(queue.idle()).resolves.toBeUndefined();
    });
  });
});

describe('the write worker', () => {
  let h: Harness | undefined;
  afterEach(() => h?.close());

  describe('when it cannot start', () => {
    it('answers the publishes 503 WRITER_UNAVAILABLE without hanging, reports unready, and the store is unchanged', async () => {
      // a deployment whose worker fails to load: a module that throws
      h = await harness({ writeWorker: new URL('data:text/javascript,throw new Error("no write worker here")') });
      const acme = await provider(h, 'com.acme');
      const before = await h.store.counts();
      const first = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tools[0]!, '1.0.0')));
      const second = await publishReq(h, acme.token, await signed(acme.key, manifestOf('com.acme', tools[1]!, '1.0.0')));
      expect([first.status, second.status]).toEqual([503, 503]);
      expect([first.body.code, second.body.code]).toEqual(['WRITER_UNAVAILABLE', 'WRITER_UNAVAILABLE']);
      expect(await h.store.counts()).toEqual(before);
      // restarted a few times, it keeps failing: it stays down and /readyz says so
      await vi.waitFor(async () => expect((await request(h!.app).get('/readyz')).body.checks.writer).toBe('failed'), { timeout: 10_000 });
    });
  });

  describe('when the store is in memory', () => {
    it('is refused: a second connection to :memory: is another database', async () => {
      const store = SqliteStore.open({ path: ':memory:' });
      try {
        await expect(createApp({ store, config: { writeWorker: bundledWriteWorker() } })).rejects.toThrow(RangeError);
      } finally {
        await store.close();
      }
    });
  });
});
