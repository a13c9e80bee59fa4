/**
 * Registry throughput, measured side by side in one run with the server in a child process (so
 * the load generator, autocannon in this process, never shares its event loop):
 * - GET of a version record: the registry vs a bare Express 5 route vs node:http serving the same
 *   pre-serialised bytes with the same headers (check: registry >= 0.8x bare Express);
 * - durable publishes (WAL, synchronous=FULL, group commit) with 16 concurrent clients, each
 *   manifest signed before the timed window (check: >= 2000/s and p99 < 50 ms).
 * The same file is the child: ETDI_BENCH_ROLE selects which server it runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import { canonicalBytes, generateKeyPair, registrationRequest, signBytes, signManifest, tokenRequest } from '@etdi/protocol';
import { MANIFEST_TYPE, type ToolDefinition } from '@etdi/schemas';
import type { BenchReport } from './report.js';

const ADMIN = 'bench-admin-token-0123456789';
const ORIGIN = 'http://bench.registry';
const RECORD_HEADERS = (body: Buffer, etag: string): Record<string, string | number> => ({
  'Content-Type': 'application/json',
  'Content-Length': body.length,
  ETag: etag,
  'Cache-Control': 'public, max-age=31536000, immutable',
});

const DEFINITION: ToolDefinition = {
  name: 'read_text_file',
  title: 'Read Text File',
  description:
    'Read the complete contents of a file from the file system as text. Handles various text encodings and provides detailed error messages if the file cannot be read. Use the head parameter to return only the first N lines of a file, or the tail parameter to return only the last N lines of a file. Only works within allowed directories.',
  inputSchema: {
    type: 'object',
    properties: {
      path: { type: 'string' },
      tail: { type: 'number', description: 'If provided, returns only the last N lines of the file' },
      head: { type: 'number', description: 'If provided, returns only the first N lines of the file' },
    },
    required: ['path'],
    additionalProperties: false,
    $schema: 'http://json-schema.org/draft-07/schema#',
  },
  annotations: { readOnlyHint: true },
};

// ---------------------------------------------------------------------------------------------
// child side
// ---------------------------------------------------------------------------------------------

async function childMain(role: string): Promise<void> {
  const send = (m: unknown): void => void process.send!(m);
  if (role === 'registry') {
    const { SqliteStore, createApp } = await import('@etdi/registry');
    const { batchedLines } = await import('@etdi/registry');
    const dir = process.env.ETDI_BENCH_DIR!;
    const store = SqliteStore.open({ path: join(dir, 'registry.db') });
    // the request log as the registry's default writes it (batchedLines into process.stdout.write)
    // when stdout is a file: one synchronous write of each event-loop turn's lines
    const log = openSync(join(dir, 'requests.log'), 'a');
    const app = await createApp({
      store,
      // the publish load is 20,000 new tools of one namespace: above the default per-namespace limit
      config: { origin: ORIGIN, logOrigin: 'bench.registry/log', adminToken: ADMIN, rateLimit: false, limits: { toolsPerNamespace: 1_000_000 }, requestLog: batchedLines((chunk) => void writeSync(log, chunk)) },
    });
    const server = app.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
    // the CPU split: this process's CPU time (main thread + libuv threadpool) and how busy its
    // event loop was over the publish window, against the load generator's in the parent
    const queue = app.registry.ctx.queue;
    let mark = { cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), writer: queue.workerUtilization(), t: performance.now() };
    // ETDI_BENCH_PROF=<dir>: this process runs with --cpu-prof (spawnChild), and so does the write
    // worker (it inherits execArgv); closing the store ends the worker cleanly, and exiting
    // writes both profiles
    if (process.env.ETDI_BENCH_PROF)
      process.once('SIGTERM', () => {
        void store.close().finally(() => process.exit(0));
      });
    process.on('message', (m: { stats?: boolean; mark?: boolean }) => {
      if (m.mark) mark = { cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), writer: queue.workerUtilization(), t: performance.now() };
      if (m.stats) {
        const reply = {
          stats: app.registry.ctx.queue.stats,
          // the write connection's settings: the one every commit goes through
          wal: store.writeConnection.pragma('journal_mode', { simple: true }),
          sync: store.writeConnection.pragma('synchronous', { simple: true }),
          cpu: process.cpuUsage(mark.cpu),
          elu: performance.eventLoopUtilization(mark.elu).utilization,
          // started before the window by the set-up publish
          writerElu: mark.writer === undefined ? undefined : queue.workerUtilization(mark.writer)?.utilization,
          ms: performance.now() - mark.t,
        };
        send(reply);
      }
    });
    return;
  }
  // bare servers: wait for the record bytes, then serve them
  process.once('message', (m: { body: string; etag: string; path: string }) => {
    const body = Buffer.from(m.body, 'base64');
    const headers = RECORD_HEADERS(body, m.etag);
    if (role === 'express') {
      const app = express();
      app.disable('x-powered-by');
      app.set('etag', false);
      app.get('/v1/tools/:namespace/:name/versions/:version', (_req, res) => void res.writeHead(200, headers).end(body));
      const server = app.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
    } else {
      const server = createServer((req, res) => {
        if (req.url === m.path) res.writeHead(200, headers).end(body);
        else res.writeHead(404).end();
      });
      server.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
    }
  });
}

if (process.env.ETDI_BENCH_ROLE) void childMain(process.env.ETDI_BENCH_ROLE);

// ---------------------------------------------------------------------------------------------
// parent side
// ---------------------------------------------------------------------------------------------

interface Child {
  proc: ChildProcess;
  url: string;
}

function spawnChild(role: string, env: Record<string, string> = {}, init?: unknown): Promise<Child> {
  const profile = role === 'registry' && process.env.ETDI_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ETDI_BENCH_PROF}`] : [];
  const proc = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, ETDI_BENCH_ROLE: role, ...env },
    execArgv: [...process.execArgv, ...profile],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  proc.once('exit', (code, signal) => trace(`${role} child exited: ${code ?? signal}`));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('message', (m: { port: number }) => resolve({ proc, url: `http://127.0.0.1:${m.port}` }));
    if (init !== undefined) proc.send(init as object);
  });
}

const stop = (c: Child): Promise<void> =>
  new Promise((resolve) => {
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGTERM');
  });

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; raw: Buffer; headers: Headers }> {
  const res = await fetch(url, init);
  const raw = Buffer.from(await res.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    body = undefined;
  }
  return { status: res.status, body, raw, headers: res.headers };
}

/**
 * CPU seconds of a process's main thread (its tid is its pid) and of all its other threads
 * (worker threads, libuv's pool, V8's helpers), from /proc (Linux; undefined elsewhere).
 * USER_HZ is 100 on Linux.
 */
function threadCpu(pid: number): { main: number; others: number } | undefined {
  try {
    let main = 0;
    let others = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime
      if (Number(tid) === pid) main += seconds;
      else others += seconds;
    }
    return { main, others };
  } catch {
    return undefined;
  }
}

/** CPU time as a percentage of one core over `seconds` of wall time. */
const cpuShare = (cpu: NodeJS.CpuUsage, seconds: number): number => ((cpu.user + cpu.system) / 1e6 / seconds) * 100;

const trace = (m: string): void => {
  if (process.env.ETDI_BENCH_TRACE) process.stderr.write(`[registry.bench] ${m}\n`);
};


async function getLoad(url: string, seconds: number): Promise<autocannon.Result> {
  await autocannon({ url, connections: 32, duration: 1 }); // warm-up (JIT, caches)
  return autocannon({ url, connections: 32, duration: seconds });
}

/**
 * Per-tool read cost (issue 17): `latest` (record and status) and the versions list's first page
 * of a tool with 10,000 versions against a tool with one, in one store, over HTTP on 127.0.0.1
 * (this process, sequential keep-alive requests). The versions go through the publish service
 * (verification, checks, writes), 500 at a time so that group commit batches them; each wave's
 * versions are submitted in version order, which is the order their batch checks them in.
 */
async function perToolCost(): Promise<Pick<BenchReport, 'rows' | 'checks'>> {
  const { SqliteStore, createApp, publish, registerNamespace } = await import('@etdi/registry');
  const { Agent, get } = await import('node:http');
  const MANY = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'etdi-bench-cost-'));
  const store = SqliteStore.open({ path: join(dir, 'registry.db') });
  try {
    const app = await createApp({ store, config: { origin: ORIGIN, logOrigin: 'bench.registry/log', adminToken: ADMIN, rateLimit: false, requestLog: false, writeWorker: 'off' } });
    const ctx = app.registry.ctx;
    const key = generateKeyPair();
    const namespace = 'com.bench';
    const admin = { role: 'admin', actor: 'admin:bench' } as const;
    await registerNamespace(ctx, admin, await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace }, 'admin-grant'));
    for (const [name, count] of [['one', 1], ['many', MANY]] as const)
      for (let wave = 0; wave < count; wave += 500) {
        const bodies = [];
        for (let i = wave; i < Math.min(count, wave + 500); i++)
          bodies.push(
            canonicalBytes(
              await signManifest(
                { type: MANIFEST_TYPE, toolId: `${namespace}/${name}`, version: `1.0.${i}`, provider: namespace, definition: { ...DEFINITION, name }, permissions: ['files:read'], issuedAt: new Date().toISOString() },
                [key.privateJwk],
              ),
            ),
          );
        for (const result of await Promise.all(bodies.map((raw) => publish(ctx, admin, raw))))
          if (!result.created) throw new Error('bench setup: a version was not created');
      }
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const fetchOnce = (path: string): Promise<void> =>
      new Promise((resolve, reject) => {
        get({ host: '127.0.0.1', port, path, agent }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode}`));
          res.resume().on('end', resolve);
        }).on('error', reject);
      });
    const { sample, percentile } = await import('./report.js');
    const median = async (path: string): Promise<number> => percentile(await sample(() => fetchOnce(path), 400, 100), 50);
    const rows: BenchReport['rows'] = [];
    const checks: BenchReport['checks'] = [];
    for (const [what, suffix] of [
      ['`latest` record', '/versions/latest'],
      ['`latest` status', '/versions/latest/status'],
      // one entry per page on both sides: what grows is the tool, not the answer
      ['versions list, a page of one', '/versions?limit=1'],
    ] as const) {
      // alternate the two tools over 3 rounds: the ratio of medians, noise shared
      const ratios: number[] = [];
      let one = 0;
      let many = 0;
      for (let round = 0; round < 3; round++) {
        one = await median(`/v1/tools/${namespace}/one${suffix}`);
        many = await median(`/v1/tools/${namespace}/many${suffix}`);
        ratios.push(many / one);
      }
      const ratio = ratios.sort((a, b) => a - b)[1]!;
      rows.push({ name: `${what}: ${MANY.toLocaleString('en')} versions / 1 version`, value: ratio, unit: 'x', note: `p50 ${(many * 1000).toFixed(0)} vs ${(one * 1000).toFixed(0)} µs, median of 3 rounds` });
      checks.push({ name: `${what} at ${MANY} versions <= 2x its cost at 1 version`, ok: ratio <= 2, detail: `${ratio.toFixed(2)}x (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})` });
    }
    agent.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    return { rows, checks };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchReport> {
  trace('per-tool cost');
  const cost = await perToolCost();
  const dir = mkdtempSync(join(tmpdir(), 'etdi-bench-registry-'));
  const children: Child[] = [];
  try {
    trace('spawn registry');
    const registry = await spawnChild('registry', { ETDI_BENCH_DIR: dir });
    children.push(registry);

    // a namespace, a publisher token, one published record to read
    const key = generateKeyPair();
    const namespace = 'com.bench';
    const reg = await json(`${registry.url}/v1/namespaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify(await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace }, 'admin-grant')),
    });
    if (reg.status !== 201) throw new Error(`bench setup: registration ${reg.status} ${reg.raw.toString()}`);
    const tok = await json(`${registry.url}/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await tokenRequest(key.privateJwk, { registry: ORIGIN, namespace })),
    });
    const token = tok.body.access_token as string;
    const manifestFor = (name: string) =>
      signManifest(
        { type: MANIFEST_TYPE, toolId: `${namespace}/${name}`, version: '1.0.0', provider: namespace, definition: { ...DEFINITION, name }, permissions: ['files:read'], issuedAt: new Date().toISOString() },
        [key.privateJwk],
      );
    // the load's manifests: signed before the timed window (JCS bytes + Ed25519, no per-body schema pass)
    const issuedAt = new Date().toISOString();
    // the body a client sends: signManifest's output (the manifest in canonical key order), JSON.stringify'd
    const presign = async (name: string): Promise<string> => {
      const bytes = canonicalBytes({ type: MANIFEST_TYPE, toolId: `${namespace}/${name}`, version: '1.0.0', provider: namespace, definition: { ...DEFINITION, name }, permissions: ['files:read'], issuedAt });
      const sig = await signBytes(key.privateJwk, bytes);
      return `{"manifest":${Buffer.from(bytes).toString('utf8')},"signatures":${JSON.stringify([{ keyId: key.keyId, alg: 'EdDSA', sig }])}}`;
    };
    const first = await json(`${registry.url}/v1/tools`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(await manifestFor(DEFINITION.name)),
    });
    if (first.status !== 201) throw new Error(`bench setup: publish ${first.status} ${first.raw.toString()}`);
    const path = `/v1/tools/${namespace}/${DEFINITION.name}/versions/1.0.0`;
    const record = await json(`${registry.url}${path}`);
    const init = { body: record.raw.toString('base64'), etag: record.headers.get('etag')!, path };
    // ETDI_BENCH_REGISTRY=publish: the publish half only (profiling and iterating on it)
    const withReads = process.env.ETDI_BENCH_REGISTRY !== 'publish';
    let reads: { rReg: autocannon.Result; rExp: autocannon.Result; rNode: autocannon.Result; ratios: number[] } | undefined;
    if (withReads) {
      trace('spawn bare servers');
      const bareExpress = await spawnChild('express', {}, init);
      const bareNode = await spawnChild('node', {}, init);
      children.push(bareExpress, bareNode);

      // reads, one server at a time (2 cores: server and load generator), the registry and bare
      // Express in alternating rounds: the shared machine's speed drifts within seconds, so the
      // check takes the median of the rounds' side-by-side ratios
      const seconds = 2;
      trace('GET load');
      const regRuns: autocannon.Result[] = [];
      const expRuns: autocannon.Result[] = [];
      for (let round = 0; round < 3; round++) {
        regRuns.push(await getLoad(`${registry.url}${path}`, seconds));
        expRuns.push(await getLoad(`${bareExpress.url}${path}`, seconds));
      }
      const rNode = await getLoad(`${bareNode.url}${path}`, seconds);
      await stop(bareExpress);
      await stop(bareNode);
      const byRate = (runs: autocannon.Result[]): autocannon.Result => [...runs].sort((a, b) => a.requests.average - b.requests.average)[1]!;
      const ratios = regRuns.map((r, i) => r.requests.average / expRuns[i]!.requests.average).sort((a, b) => a - b);
      reads = { rReg: byRate(regRuns), rExp: byRate(expRuns), rNode, ratios };
    }

    // durable publishes: pre-signed, distinct tools, 16 concurrent clients
    trace('presign');
    const count = Number(process.env.ETDI_BENCH_PUBLISHES ?? 20_000);
    const bodies: string[] = [];
    for (let i = 0; i < count; i++) bodies.push(await presign(`tool_${i}`));
    let next = 0;
    let non2xx = 0;
    let answered = 0;
    type Stats = {
      stats: { batches: number; jobs: number; largestBatch: number; transactionMs: number; writer: string; journalMode?: string; synchronous?: number };
      wal: string;
      sync: number;
      cpu: NodeJS.CpuUsage;
      elu: number;
      writerElu?: number;
      ms: number;
    };
    const askStats = (): Promise<Stats> =>
      new Promise<Stats>((resolve) => {
        registry.proc.once('message', resolve as (m: unknown) => void);
        registry.proc.send({ stats: true });
      });
    // The window ends at the last answer: autocannon with `amount` reports only at its next
    // one-second sampling tick after that, and that idle wait (up to 1 s, 5 to 10 % of the run)
    // is no publish time. The registry's counters are read at that moment too.
    let ended: { at: number; threads: ReturnType<typeof threadCpu>; loadCpu: NodeJS.CpuUsage; stats: Promise<Stats> } | undefined;
    trace('publish load');
    registry.proc.send({ mark: true });
    const threadsBefore = threadCpu(registry.proc.pid!);
    const loadCpu = process.cpuUsage();
    const started = performance.now();
    const pub = await autocannon({
      url: registry.url,
      connections: 16,
      amount: count,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/v1/tools',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          setupRequest: (req) => ({ ...req, body: bodies[next++ % count]! }),
          onResponse: (status) => {
            if (status !== 201) non2xx++;
            if (++answered === count)
              ended = { at: performance.now(), threads: threadCpu(registry.proc.pid!), loadCpu: process.cpuUsage(loadCpu), stats: askStats() };
          },
        },
      ],
    });
    if (ended === undefined) ended = { at: performance.now(), threads: threadCpu(registry.proc.pid!), loadCpu: process.cpuUsage(loadCpu), stats: askStats() };
    const elapsed = (ended.at - started) / 1000;
    const loadCpuUsed = ended.loadCpu;
    const threadsAfter = ended.threads;
    const threads =
      threadsBefore && threadsAfter ? { main: threadsAfter.main - threadsBefore.main, others: threadsAfter.others - threadsBefore.others } : undefined;
    const publishRate = (pub.requests.total - non2xx) / elapsed;
    const stats = await ended.stats;

    const p99 = pub.latency.p99;
    const readRows: BenchReport['rows'] = [];
    const readChecks: BenchReport['checks'] = [];
    if (reads !== undefined) {
      const { rReg, rExp, rNode, ratios } = reads;
      const reg_ = rReg.requests.average;
      const exp_ = rExp.requests.average;
      readRows.push(
        { name: 'GET version record: registry', value: reg_, unit: 'req/s', note: `median of 3 rounds; p99 ${rReg.latency.p99} ms, 32 connections, request log on` },
        { name: 'GET version record: bare Express 5, same bytes', value: exp_, unit: 'req/s', note: `p99 ${rExp.latency.p99} ms` },
        { name: 'GET version record: node:http, same bytes', value: rNode.requests.average, unit: 'req/s', note: `p99 ${rNode.latency.p99} ms` },
      );
      const ratio = ratios[1]!;
      readChecks.push({
        name: 'record GET >= 0.8x bare Express',
        ok: ratio >= 0.8,
        detail: `${ratio.toFixed(2)}x, the median of 3 alternating rounds (${ratios.map((r) => r.toFixed(2)).join(', ')}; median rates ${reg_.toFixed(0)} vs ${exp_.toFixed(0)} req/s)`,
      });
    }
    return {
      title: 'registry (server in a child process, autocannon on 127.0.0.1)',
      rows: [
        ...cost.rows,
        ...readRows,
        {
          name: 'publish (durable, 16 clients)',
          value: publishRate,
          unit: 'publish/s',
          note: `${pub.requests.total - non2xx} of ${count} acknowledged 201, ${non2xx} other, ${elapsed.toFixed(2)} s to the last answer`,
        },
        { name: 'publish latency p50', value: pub.latency.p50, unit: 'ms' },
        { name: 'publish latency p99', value: p99, unit: 'ms' },
        {
          name: 'publish window CPU: registry process',
          value: cpuShare(stats.cpu, elapsed),
          unit: '% of one core',
          note: `user ${(stats.cpu.user / 1e6).toFixed(1)} s + system ${(stats.cpu.system / 1e6).toFixed(1)} s over ${elapsed.toFixed(1)} s, main thread and threadpool`,
        },
        ...(threads === undefined
          ? []
          : [
              { name: 'publish window CPU: registry main thread', value: (threads.main / elapsed) * 100, unit: '% of one core', note: '/proc, user + system' },
              { name: 'publish window CPU: registry other threads', value: (threads.others / elapsed) * 100, unit: '% of one core', note: 'write worker, libuv pool (Ed25519, fs), V8 helpers' },
            ]),
        { name: 'publish window: registry event loop busy', value: stats.elu * 100, unit: '%', note: 'event loop utilisation; the rest is idle waiting (sockets, fsync, threadpool)' },
        ...(stats.writerElu === undefined
          ? []
          : [{ name: 'publish window: write worker busy', value: stats.writerElu * 100, unit: '%', note: 'its event loop utilisation: batch SQL and the COMMIT fsync' }]),
        {
          name: 'publish window CPU: load generator (autocannon)',
          value: cpuShare(loadCpuUsed, elapsed),
          unit: '% of one core',
          note: 'same 2 cores; bench parent process',
        },
        { name: 'publishes per commit (group commit)', value: stats.stats.jobs / Math.max(1, stats.stats.batches), unit: 'jobs/batch', note: `largest ${stats.stats.largestBatch}, committed on the ${stats.stats.writer === 'worker' ? 'write worker' : 'event loop'}` },
        { name: 'batch transaction time (mean)', value: stats.stats.transactionMs / Math.max(1, stats.stats.batches), unit: 'ms', note: 'checks, writes, checkpoint, COMMIT with its fsync' },
      ],
      checks: [
        ...cost.checks,
        ...readChecks,
        { name: 'durable publishes >= 2000/s with 16 clients', ok: publishRate >= 2000 && non2xx === 0, detail: `${publishRate.toFixed(0)}/s, ${non2xx} not 201` },
        { name: 'publish p99 < 50 ms', ok: p99 < 50, detail: `p99 ${p99} ms` },
        {
          // the connection the publishes commit on (the write worker's), and the event loop's
          name: 'store is durable (WAL, synchronous=FULL on every connection)',
          ok: stats.stats.journalMode === 'wal' && stats.stats.synchronous === 2 && stats.wal === 'wal' && stats.sync === 2,
          detail: `publishes: journal_mode=${stats.stats.journalMode}, synchronous=${stats.stats.synchronous}; event loop: journal_mode=${stats.wal}, synchronous=${stats.sync}`,
        },
      ],
    };
  } finally {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
}
