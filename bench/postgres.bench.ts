/**
 * The PostgreSQL store beside the SQLite default, measured side by side in one run (no target: the
 * figures say what running beyond one machine costs). Each registry runs in a child process on
 * its own fresh store: SQLite (WAL, synchronous = FULL), or a database of one embedded PostgreSQL
 * started here with fsync ON (synchronous_commit = on per session: an acknowledged publish is on
 * disk in both). For each:
 * - durable publishes with 16 concurrent clients (each manifest signed before the timed window),
 *   for PostgreSQL also split over three registry processes on the same database (one log: every
 *   write transaction takes the store's advisory lock);
 * - GET of a version's status (not cached: the key row, a fresh inclusion proof from the store).
 * The same file is the child: ETDI_BENCH_ROLE=registry with ETDI_BENCH_DATABASE (a path or URL).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { canonicalBytes, generateKeyPair, registrationRequest, signBytes, tokenRequest, type GeneratedKeyPair } from '@etdi/protocol';
import { MANIFEST_TYPE } from '@etdi/schemas';
import { startEmbeddedPostgres } from '../test/support/embedded-postgres-server.js';
import type { BenchReport, BenchRow } from './report.js';

const ADMIN = 'bench-admin-token-0123456789';
const ORIGIN = 'http://bench.registry';
const NAMESPACE = 'com.bench';
const CONNECTIONS = 16;

async function childMain(): Promise<void> {
  const { createApp, openStore } = await import('@etdi/registry');
  const store = await openStore({ database: process.env.ETDI_BENCH_DATABASE! });
  const app = await createApp({
    store,
    // the load is thousands of new tools of one namespace: above the default per-namespace limit
    config: { origin: ORIGIN, logOrigin: 'bench.postgres/log', adminToken: ADMIN, rateLimit: false, requestLog: false, limits: { toolsPerNamespace: 1_000_000 } },
  });
  const server = app.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
}

if (process.env.ETDI_BENCH_ROLE === 'registry') void childMain();

interface Child {
  proc: ChildProcess;
  url: string;
}

function spawnRegistry(database: string): Promise<Child> {
  const proc = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, ETDI_BENCH_ROLE: 'registry', ETDI_BENCH_DATABASE: database }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`bench registry exited ${code} before listening`)));
    proc.once('message', (m: { port: number }) => resolve({ proc, url: `http://127.0.0.1:${m.port}` }));
  });
}

const stop = (c: Child): Promise<void> =>
  new Promise((resolve) => {
    if (c.proc.exitCode !== null) return resolve();
    c.proc.removeAllListeners('exit');
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGTERM');
  });

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** A namespace and a publisher token on `url` (the registries of one store share both). */
async function publisher(url: string, key: GeneratedKeyPair): Promise<string> {
  const reg = await post(`${url}/v1/namespaces`, await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace: NAMESPACE }, 'admin-grant'), ADMIN);
  if (reg.status !== 201) throw new Error(`bench setup: registration ${reg.status} ${JSON.stringify(reg.body)}`);
  const tok = await post(`${url}/v1/tokens`, await tokenRequest(key.privateJwk, { registry: ORIGIN, namespace: NAMESPACE }));
  return tok.body.access_token as string;
}

/** Signed manifests of `count` new tools, as a client sends them (signed before the timed window). */
async function presign(key: GeneratedKeyPair, prefix: string, count: number): Promise<string[]> {
  const issuedAt = new Date().toISOString();
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}_${i}`;
    const definition = { name, description: 'Reads a file from the allowed directories and returns its text.', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } };
    const bytes = canonicalBytes({ type: MANIFEST_TYPE, toolId: `${NAMESPACE}/${name}`, version: '1.0.0', provider: NAMESPACE, definition, permissions: ['files:read'], issuedAt });
    bodies.push(`{"manifest":${Buffer.from(bytes).toString('utf8')},"signatures":${JSON.stringify([{ keyId: key.keyId, alg: 'EdDSA', sig: await signBytes(key.privateJwk, bytes) }])}}`);
  }
  return bodies;
}

/** `bodies` published over `registries` at once (the 16 connections split between them): acknowledged publishes per second. */
async function publishLoad(registries: Child[], token: string, bodies: string[]): Promise<{ rate: number; p99: number; refused: number }> {
  let refused = 0;
  const share = Math.ceil(bodies.length / registries.length);
  const started = performance.now();
  const results = await Promise.all(
    registries.map((r, i) => {
      const mine = bodies.slice(i * share, (i + 1) * share);
      let next = 0;
      return autocannon({
        url: r.url,
        connections: Math.round(CONNECTIONS / registries.length),
        amount: mine.length,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: '/v1/tools',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            setupRequest: (req) => ({ ...req, body: mine[next++]! }),
            onResponse: (status) => void (status !== 201 && refused++),
          },
        ],
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rate: (bodies.length - refused) / seconds, p99: Math.max(...results.map((r) => r.latency.p99)), refused };
}

async function statusLoad(url: string): Promise<number> {
  const path = `/v1/tools/${NAMESPACE}/warm_0/versions/1.0.0/status`;
  await autocannon({ url: url + path, connections: 16, duration: 1 }); // warm-up
  return (await autocannon({ url: url + path, connections: 16, duration: 5 })).requests.average;
}

export async function run(): Promise<BenchReport> {
  const count = Number(process.env.ETDI_BENCH_PUBLISHES ?? 6_000);
  const dir = mkdtempSync(join(tmpdir(), 'etdi-bench-pg-'));
  const server = await startEmbeddedPostgres({ fsync: true });
  const children: Child[] = [];
  const rows: BenchRow[] = [{ name: 'embedded PostgreSQL start (initdb + start)', value: server.startupMs, unit: 'ms' }];
  try {
    const database = async (name: string): Promise<string> => {
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      return url.toString();
    };
    const key = generateKeyPair();
    const scenarios: { name: string; database: string; processes: number }[] = [
      { name: 'SQLite, 1 process', database: join(dir, 'registry.db'), processes: 1 },
      { name: 'PostgreSQL, 1 process', database: await database('bench_one'), processes: 1 },
      { name: 'PostgreSQL, 3 processes', database: await database('bench_three'), processes: 3 },
    ];
    const rates: number[] = [];
    for (const s of scenarios) {
      // one at a time: the first opens (and migrates) the store, the others find it ready
      const registries: Child[] = [];
      for (let i = 0; i < s.processes; i++) registries.push(await spawnRegistry(s.database));
      children.push(...registries);
      const token = await publisher(registries[0]!.url, key);
      await publishLoad(registries, token, await presign(key, 'warm', 200)); // warm-up (JIT, pools)
      const load = await publishLoad(registries, token, await presign(key, 'tool', count));
      rates.push(load.rate);
      rows.push({ name: `publish, 16 clients: ${s.name}`, value: load.rate, unit: 'publish/s', note: `${count - load.refused} of ${count} acknowledged 201; p99 ${load.p99} ms` });
      if (s.processes === 1) rows.push({ name: `GET status (store read, proof): ${s.name}`, value: await statusLoad(registries[0]!.url), unit: 'req/s', note: '16 connections, 5 s' });
      for (const r of registries) await stop(r);
    }
    rows.push({ name: 'publish rate, PostgreSQL 1 process / SQLite', value: rates[1]! / rates[0]!, unit: 'x' });
    rows.push({ name: 'publish rate, PostgreSQL 3 processes / 1 process', value: rates[2]! / rates[1]!, unit: 'x', note: 'one machine of 2 cores: the processes share them with PostgreSQL and the load' });
    return { title: 'PostgreSQL store beside SQLite (registries in child processes, autocannon on 127.0.0.1; no target)', rows, checks: [] };
  } finally {
    for (const c of children) await stop(c);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
