import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore, verifyCheckpoint, verifyInclusion } from '../../client-verifier/log/index.js';
import { fromBase64, leafHash, toBase64 } from '../../protocol/index.js';
import { createLogRouter, MAX_ENTRIES_PAGE } from '../../registry/routes/log.js';
import type { TransparencyLog } from '../../registry/log/index.js';
import type { SqliteStore } from '../../registry/store/sqlite/sqlite-store.js';
import { ORIGIN, appendAll, eventLeaf, openLog, tamper, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let file: string;
let store: SqliteStore;
let log: TransparencyLog;
let app: express.Express;
const leaves = Array.from({ length: 300 }, (_, i) => eventLeaf(i));

beforeEach(async () => {
  tmp = tempDir();
  file = join(tmp.dir, 'log.db');
  ({ store, log } = await openLog(file));
  await appendAll(store, log, leaves.slice(0, 100)); // signs the checkpoint of size 100
  await appendAll(store, log, leaves.slice(100)); // and of size 300
  app = express();
  app.use('/v1/log', createLogRouter(log));
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

describe('log routes', () => {
  describe('when a client follows the log over HTTP', () => {
    it('verifies the checkpoint, an inclusion proof by index and by hash, and a consistency proof', async () => {
      const key = await request(app).get('/v1/log/key').expect(200);
      expect(key.body.origin).toBe(ORIGIN);
      const vkey: string = key.body.verifierKey;

      const note = await request(app).get('/v1/log/checkpoint').expect(200).expect('Content-Type', /text\/plain/);
      const cp = await verifyCheckpoint(note.text, vkey, { origin: ORIGIN });
      expect(cp.size).toBe(300);

      const byIndex = await request(app).get('/v1/log/proof/inclusion?index=123&size=300').expect(200);
      verifyInclusion(leafHash(leaves[123]!), 123, 300, byIndex.body.hashes.map(fromBase64), cp.rootHash);
      const byHash = await request(app)
        .get('/v1/log/proof/inclusion')
        .query({ leafHash: toBase64(leafHash(leaves[123]!)) })
        .expect(200);
      expect(byHash.body).toEqual(byIndex.body); // size defaults to the newest checkpoint

      const client = new CheckpointStore(vkey);
      await client.advance((await request(app).get('/v1/log/checkpoint')).text, () => Promise.reject(new Error('unused')));
      const fetchProof = async (from: number, to: number) =>
        ((await request(app).get(`/v1/log/proof/consistency?from=${from}&to=${to}`).expect(200)).body.hashes as string[]).map(fromBase64);
      const older = (await store.tree.allCheckpoints()).find((c) => c.size === 100)!;
      await expect(client.advance(older.note, fetchProof)).resolves.toMatchObject({ size: 100 });
      expect(client.current?.size).toBe(300);
    });

    it('pages entries as UTF-8 JCS text or base64, clamped to a bounded page', async () => {
      const page = await request(app).get('/v1/log/entries?start=290&end=400').expect(200);
      expect(page.body).toMatchObject({ start: 290, end: 300, treeSize: 300, encoding: 'utf8' });
      expect(page.body.entries).toHaveLength(10);
      expect(page.body.entries[0]).toEqual({ index: 290, data: new TextDecoder().decode(leaves[290]) });
      const b64 = await request(app).get('/v1/log/entries?start=0&end=1000&encoding=base64').expect(200);
      expect(b64.body.entries).toHaveLength(MAX_ENTRIES_PAGE);
      expect(b64.body.entries[5].data).toBe(toBase64(leaves[5]!));
      const empty = await request(app).get('/v1/log/entries?start=300&end=310').expect(200);
      expect(empty.body.entries).toEqual([]);
    });
  });

  describe('when the parameters are bad', () => {
    it.each([
      ['a missing start', '/v1/log/entries?end=3', 400, 'LOG_BAD_REQUEST'],
      ['a negative start', '/v1/log/entries?start=-1&end=3', 400, 'LOG_BAD_REQUEST'],
      ['a leading zero', '/v1/log/entries?start=01&end=3', 400, 'LOG_BAD_REQUEST'],
      ['an exponent', '/v1/log/proof/inclusion?index=1e2&size=300', 400, 'LOG_BAD_REQUEST'],
      ['a repeated parameter', '/v1/log/proof/inclusion?index=1&index=2&size=300', 400, 'LOG_BAD_REQUEST'],
      ['start beyond the tree', '/v1/log/entries?start=301&end=400', 400, 'LOG_BAD_REQUEST'],
      ['an unknown encoding', '/v1/log/entries?start=0&end=1&encoding=hex', 400, 'LOG_BAD_REQUEST'],
      ['an index beyond the size', '/v1/log/proof/inclusion?index=300&size=300', 400, 'LOG_BAD_REQUEST'],
      ['a size beyond the tree', '/v1/log/proof/inclusion?index=0&size=301', 400, 'LOG_BAD_REQUEST'],
      ['both index and leafHash', `/v1/log/proof/inclusion?index=0&leafHash=${encodeURIComponent(toBase64(new Uint8Array(32)))}`, 400, 'LOG_BAD_REQUEST'],
      ['a short leafHash', '/v1/log/proof/inclusion?leafHash=AAAA', 400, 'LOG_BAD_REQUEST'],
      ['an unknown leafHash', `/v1/log/proof/inclusion?leafHash=${encodeURIComponent(toBase64(new Uint8Array(32)))}`, 404, 'LOG_NOT_FOUND'],
      ['a leaf not yet in the given size', `/v1/log/proof/inclusion?size=10&leafHash=${encodeURIComponent(toBase64(leafHash(leaves[20]!)))}`, 404, 'LOG_NOT_FOUND'],
      ['a consistency proof from 0', '/v1/log/proof/consistency?from=0&to=5', 400, 'LOG_BAD_REQUEST'],
      ['a consistency proof backwards', '/v1/log/proof/consistency?from=6&to=5', 400, 'LOG_BAD_REQUEST'],
      ['a huge size', '/v1/log/proof/consistency?from=1&to=99999999999999999', 400, 'LOG_BAD_REQUEST'],
    ])('answers %s with an RFC 9457 problem', async (_case, url, status, code) => {
      const res = await request(app).get(url).expect(status).expect('Content-Type', /application\/problem\+json/);
      expect(res.body).toMatchObject({ status, code, type: `urn:etdi:problem:${code.toLowerCase().replace(/_/g, '-')}` });
      expect(typeof res.body.title).toBe('string');
      expect(typeof res.body.detail).toBe('string');
    });

    // The read path no longer re-checks (or signs) the tree on GET /checkpoint: the checkpoint
    // is signed in its write transaction. A corrupted log now shows on the reads that need the
    // damaged rows: a proof through a missing subtree hash is LOG_CORRUPT, served opaquely.
    it('answers a proof through a corrupted part of the log with an opaque 500 problem', async () => {
      tamper(file, 'DELETE FROM log_nodes WHERE level = 6 AND idx = 0');
      const res = await request(app).get('/v1/log/proof/inclusion?index=100&size=300').expect(500).expect('Content-Type', /application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'LOG_CORRUPT', detail: 'the transparency log failed an integrity check' });
      expect(JSON.stringify(res.body)).not.toContain('(6, 0)'); // nothing of the damage leaks
      await request(app).get('/v1/log/proof/inclusion?index=0&size=300').expect(200); // a path around it still serves
    });
  });
});
