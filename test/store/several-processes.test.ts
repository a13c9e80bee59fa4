// Issue 19: several registry processes on one PostgreSQL serve one log. Three `etdi serve
// --database` processes, 16 clients publishing through all of them at once, and the process that
// holds the write lock (the log's sequencer: whoever holds it appends the next entries and signs
// the next checkpoint) killed with SIGKILL again and again, mid-transaction, then restarted.
// Afterwards: no acknowledged publish lost, every publish logged exactly once, one consistent log
// (fsck clean), and a client that followed every checkpoint any process served accepts them all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CheckpointStore } from '../../client-verifier/log/index.js';
import { fromBase64, generateKeyPair, registrationRequest, signManifest, tokenRequest, type GeneratedKeyPair } from '../../protocol/index.js';
import { fsckRegistry, PostgresStore, WRITE_LOCK_KEY } from '../../registry/index.js';
import { MANIFEST_TYPE, type SignedManifest } from '../../schemas/index.js';
import { freshDatabase, type TestDatabase } from '../support/postgres.js';
import { ADMIN_TOKEN, realTool, startRegistry, type RegistryProcess } from '../support/processes.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 60_000 });

const ORIGIN = 'https://registry.test';
const PROCESSES = 3;
const CLIENTS = 16;
const KILLS = 10;
/** Each client publishes at least this many versions, and goes on until the kills are done. */
const MIN_PUBLISHES = 6;

let db: TestDatabase;
let dir: string;
const slots: { port: number; process: RegistryProcess }[] = [];

async function start(port?: number): Promise<RegistryProcess> {
  return startRegistry(join(dir, 'data'), dir, { args: ['--database', db.url, '--origin', ORIGIN], ...(port === undefined ? {} : { port }) });
}

beforeAll(async () => {
  db = await freshDatabase();
  dir = mkdtempSync(join(tmpdir(), 'etdi-processes-'));
  // the first process creates the schema and the log; the others find them
  for (let i = 0; i < PROCESSES; i++) {
    const registry = await start();
    slots.push({ port: Number(new URL(registry.url).port), process: registry });
  }
});

afterAll(async () => {
  await Promise.all(slots.map((s) => s.process.stop()));
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Round-robin over the processes, as a load balancer would; a dead one is just a failed try. */
let turn = 0;
const nextUrl = (): string => slots[turn++ % slots.length]!.process.url;

/** POST with retries: connection errors (a killed process), 429 and 503 are tried again elsewhere. */
async function post(path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let attempt = 0; ; attempt++) {
    if (attempt > 200) throw new Error(`POST ${path} kept failing`);
    let res: Response;
    try {
      res = await fetch(nextUrl() + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
    } catch {
      await sleep(20);
      continue;
    }
    if (res.status === 429 || res.status === 503) {
      await res.arrayBuffer();
      await sleep(50);
      continue;
    }
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function client(namespace: string): Promise<{ key: GeneratedKeyPair; token: string }> {
  const key = generateKeyPair();
  const registration = await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace }, 'admin-grant');
  const registered = await post('/v1/namespaces', registration, ADMIN_TOKEN);
  // a retry of a registration that committed before its process died: NAMESPACE_EXISTS, by this key
  if (registered.status !== 201 && registered.body.code !== 'NAMESPACE_EXISTS') throw new Error(`register ${namespace}: ${JSON.stringify(registered)}`);
  const issued = await post('/v1/tokens', await tokenRequest(key.privateJwk, { registry: ORIGIN, namespace }));
  if (issued.status !== 201) throw new Error(`token ${namespace}: ${JSON.stringify(issued)}`);
  return { key, token: issued.body.access_token as string };
}

/** The process (of ours) whose connection holds the write lock right now, if any. */
async function lockHolder(watcher: pg.Client): Promise<number | undefined> {
  const { rows } = await watcher.query<{ application_name: string }>(
    `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2`,
    [Number(WRITE_LOCK_KEY >> 32n), Number(WRITE_LOCK_KEY & 0xffffffffn)],
  );
  const pid = Number(/^etdi-registry:(\d+)$/.exec(rows[0]?.application_name ?? '')?.[1]);
  return Number.isInteger(pid) ? pid : undefined;
}

describe('three registry processes on one PostgreSQL, the sequencer killed with SIGKILL', () => {
  it('loses no acknowledged publish, logs each once, and every checkpoint any process served is on one consistent log', async () => {
    const acked = new Map<string, string>(); // toolId@version -> manifest digest
    const notes = new Set<string>();
    let done = false;

    // a follower reading the checkpoint from every process, as clients behind a load balancer would
    const follower = (async () => {
      while (!done) {
        for (const { process: registry } of slots) {
          try {
            const res = await fetch(`${registry.url}/v1/log/checkpoint`, { signal: AbortSignal.timeout(5_000) });
            if (res.ok) notes.add(await res.text());
          } catch {
            // a killed process: the next one
          }
        }
        await sleep(25);
      }
    })();

    // the killer: find the process holding the write lock, SIGKILL it, restart it on its port
    let kills = 0;
    const watcher = new pg.Client({ connectionString: db.url });
    await watcher.connect();
    const killer = (async () => {
      while (kills < KILLS) {
        const pid = await lockHolder(watcher);
        const slot = slots.find((s) => s.process.pid === pid);
        if (slot === undefined) {
          await sleep(5);
          continue;
        }
        await slot.process.kill();
        kills++;
        slot.process = await start(slot.port);
      }
    })();

    const tool = realTool('read_file');
    const publishers = Array.from({ length: CLIENTS }, async (_, c) => {
      const namespace = `com.client${c}`;
      const { key, token } = await client(namespace);
      for (let n = 0; n < MIN_PUBLISHES || kills < KILLS; n++) {
        const version = `1.0.${n}`;
        const manifest = { type: MANIFEST_TYPE, toolId: `${namespace}/read_file`, version, provider: namespace, definition: tool, permissions: ['files:read'], issuedAt: new Date().toISOString() };
        const signed: SignedManifest = await signManifest(manifest as never, [key.privateJwk]);
        const res = await post('/v1/tools', signed, token);
        // 201 published; 200 an identical republish (the first try committed, its answer was lost)
        if (res.status !== 201 && res.status !== 200) throw new Error(`publish ${namespace}@${version}: ${JSON.stringify(res)}`);
        acked.set(`${namespace}/read_file@${version}`, res.body.manifestDigest as string);
      }
    });
    await Promise.all([...publishers, killer]);
    done = true;
    await follower;
    await watcher.end();
    if (process.env.ETDI_TEST_STATS) console.log(`kills ${kills}, acked publishes ${acked.size}, checkpoints seen ${notes.size}`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(acked.size).toBeGreaterThanOrEqual(CLIENTS * MIN_PUBLISHES);

    const store = await PostgresStore.open({ url: db.url });
    try {
      // no acknowledged publish lost: each is stored with the digest its answer gave
      for (const [subject, digest] of acked) {
        const [toolId, version] = subject.split('@') as [string, string];
        expect((await store.getVersion(toolId, version))?.manifest_digest, subject).toBe(digest);
      }
      // every event logged exactly once
      const size = await store.tree.size();
      const audit = await store.auditRange(0, size);
      const published = audit.filter((r) => r.kind === 'version.published').map((r) => r.subject);
      expect(new Set(published).size).toBe(published.length);
      expect(new Set(published)).toEqual(new Set(acked.keys()));
      expect(audit.filter((r) => r.kind === 'namespace.registered')).toHaveLength(CLIENTS);
      // one consistent log: rebuilt from its leaves, every node, checkpoint and table row checked
      const fsck = await fsckRegistry(store);
      expect(fsck.problems).toEqual([]);
      expect(fsck.ok).toBe(true);

      // no two checkpoints served inconsistent: a client that saw them all, in any order, accepts them all
      const { verifierKey } = (await (await fetch(`${slots[0]!.process.url}/v1/log/key`)).json()) as { verifierKey: string };
      const follower = new CheckpointStore(verifierKey, { origin: (await store.tree.origin())! });
      const proof = async (from: number, to: number): Promise<Uint8Array[]> => {
        const res = await fetch(`${nextUrl()}/v1/log/proof/consistency?from=${from}&to=${to}`);
        return ((await res.json()) as { hashes: string[] }).hashes.map(fromBase64);
      };
      expect(notes.size).toBeGreaterThan(KILLS);
      for (const note of notes) await follower.advance(note, proof);
      expect(follower.current?.size).toBeLessThanOrEqual(size);
    } finally {
      await store.close();
    }
  });
});
