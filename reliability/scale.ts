/**
 * `npm run reliability:scale -- --sizes 10000,1000000` (after `npm run build`): loads each size of
 * signed versions through the registry's real write path (the publish and registration services
 * the routes call, in-process, batched by the WriteQueue's group commit; real Ed25519 signatures,
 * one key per provider), then serves the database from its own process on 127.0.0.1 and measures
 * start-up, GET version p50/p99, search, status (inclusion proof + attestation), proof times,
 * resident memory (after every version's record and status were served once, so that the record
 * and attestation caches are as full as their bounds allow) and database size per version. The
 * largest size is compared with the smallest: p99 <= 2x, start-up < 2 s, peak RSS < 250 MB.
 * Flags: --sizes 10000,100000 --versions-per-tool 40 --tools-per-provider 10 --keep (keep the dbs).
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from '../bench/report.js';
import { generateKeyPair, type GeneratedKeyPair } from '@etdi/protocol';
import { createApp, SqliteStore, TransparencyLog } from '@etdi/registry';
import { registerNamespace } from '@etdi/registry';
import { publish } from '@etdi/registry';
import type { Principal } from '@etdi/registry';
import { booleanFlag, numberFlag } from './support/args.js';
import { manifestOf, registrationBody, signed, syntheticDefinition, versionOf } from './support/actors.js';
import { peakRssMb, rssMb, startChild } from './support/child.js';
import { ADMIN_TOKEN, LOG_ORIGIN, ORIGIN, httpSender } from './support/harness.js';

const sizesArg = process.argv.includes('--sizes') ? process.argv[process.argv.indexOf('--sizes') + 1]! : '10000';
const sizes = sizesArg.split(',').map(Number);
const versionsPerTool = numberFlag('versions-per-tool', 40);
const toolsPerProvider = numberFlag('tools-per-provider', 10);
const keep = booleanFlag('keep');
const ADMIN: Principal = { role: 'admin', actor: 'admin:config' };

interface Result {
  versions: number;
  providers: number;
  tools: number;
  loadSeconds: number;
  loadPerSecond: number;
  startupMs: number;
  getP50: number;
  getP99: number;
  statusP50: number;
  statusP99: number;
  searchP50: number;
  searchP99: number;
  inclusionProofP50: number;
  inclusionProofP99: number;
  consistencyProofP50: number;
  consistencyProofP99: number;
  rssMb: number;
  peakRssMb: number;
  bytesPerVersion: number;
}

async function load(dbPath: string, versions: number): Promise<{ providers: number; tools: number; seconds: number }> {
  const tools = Math.max(1, Math.round(versions / versionsPerTool));
  const providerCount = Math.max(1, Math.round(tools / toolsPerProvider));
  const store = SqliteStore.open({ path: dbPath });
  const app = await createApp({ store, config: { origin: ORIGIN, logOrigin: LOG_ORIGIN, adminToken: ADMIN_TOKEN, requestLog: false, rateLimit: false } });
  const ctx = app.registry.ctx;
  const started = performance.now();
  const keys: GeneratedKeyPair[] = [];
  const inFlight = 256;
  // registrations through the service (statement checks, proof of possession, log leaf)
  for (let i = 0; i < providerCount; i += inFlight) {
    const batch = [];
    for (let j = i; j < Math.min(providerCount, i + inFlight); j++) {
      const key = generateKeyPair();
      keys[j] = key;
      batch.push(registrationBody({ origin: ORIGIN, nowMs: Date.now() }, `io.scale.p${j}`, key).then((body) => registerNamespace(ctx, ADMIN, body)));
    }
    await Promise.all(batch);
  }
  // versions: round n publishes version n of every tool, so each tool's versions arrive in order
  let done = 0;
  for (let round = 0; done < versions; round++) {
    const jobs: (() => Promise<unknown>)[] = [];
    for (let t = 0; t < tools && done + jobs.length < versions; t++) {
      const p = t % providerCount;
      const namespace = `io.scale.p${p}`;
      const def = syntheticDefinition(`tool_${Math.floor(t / providerCount)}`, t * 7 + round);
      jobs.push(async () => {
        const raw = Buffer.from(JSON.stringify(await signed(keys[p]!, manifestOf(namespace, def, versionOf(round), new Date().toISOString()))));
        const result = await publish(ctx, ADMIN, raw);
        if (!result.created) throw new Error('duplicate publish');
      });
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(inFlight, jobs.length) }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
    done += jobs.length;
    if (versions >= 100_000 && round % 5 === 0) console.error(`  ${done} versions, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  await ctx.queue.idle();
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return { providers: providerCount, tools, seconds };
}

async function timeRequests(send: ReturnType<typeof httpSender>, paths: () => string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const path = paths();
    const t = performance.now();
    const res = await send({ label: 'get', method: 'GET', path, headers: {}, body: undefined });
    times.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  }
  return times.sort((a, b) => a - b);
}

async function measure(dbPath: string, versions: number, shape: { providers: number; tools: number; seconds: number }): Promise<Result> {
  const randomVersionPath = (): string => {
    // a uniformly random published version (the record cache holds 10,000: at scale most are misses)
    for (;;) {
      const t = Math.floor(Math.random() * shape.tools);
      const rounds = Math.floor(versions / shape.tools) + (t < versions % shape.tools ? 1 : 0);
      if (rounds === 0) continue;
      return `/v1/tools/io.scale.p${t % shape.providers}/tool_${Math.floor(t / shape.providers)}/versions/${versionOf(Math.floor(Math.random() * rounds))}`;
    }
  };
  // start-up: spawn -> the first GET of a version answered
  const spawned = performance.now();
  const child = await startChild(dbPath);
  const send = httpSender(child.url, new Agent({ keepAlive: true, maxSockets: 4 }));
  await timeRequests(send, randomVersionPath, 1);
  const startupMs = performance.now() - spawned;
  await timeRequests(send, randomVersionPath, 300); // warm-up
  const get = await timeRequests(send, randomVersionPath, 3000);
  const status = await timeRequests(send, () => `${randomVersionPath()}/status`, 500);
  const words = ['kind%2042', 'tool_3', 'summarises', 'io.scale.p1%2F', 'zzz-no-match'];
  const search = await timeRequests(send, () => `/v1/tools?q=${words[Math.floor(Math.random() * words.length)]}&limit=20`, 100);
  // memory as a busy registry has it: every version's record and status served once (up to the
  // cache bounds), so the record and attestation caches are as full as they can be; then twice
  // more over the most recent 10,000, the shape a cache holds in steady state
  const every: string[] = [];
  for (let t = 0; t < shape.tools; t++) {
    const rounds = Math.floor(versions / shape.tools) + (t < versions % shape.tools ? 1 : 0);
    for (let r = 0; r < rounds; r++) every.push(`/v1/tools/io.scale.p${t % shape.providers}/tool_${Math.floor(t / shape.providers)}/versions/${versionOf(r)}`);
  }
  let i = 0;
  await timeRequests(send, () => every[i++ % every.length]!, every.length);
  i = 0;
  await timeRequests(send, () => `${every[i++ % every.length]!}/status`, every.length);
  const rss = rssMb(child.process.pid!);
  const peak = peakRssMb(child.process.pid!);
  // proofs on the log's own store (read-only connection beside the serving process)
  const reader = SqliteStore.open({ path: dbPath, readonly: true });
  const log = await TransparencyLog.open(reader, { origin: LOG_ORIGIN });
  const size = await log.size();
  const inclusion: number[] = [];
  const consistency: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const leaf = Math.floor(Math.random() * size);
    let t = performance.now();
    await log.inclusionProof(leaf, size);
    inclusion.push(performance.now() - t);
    const m = 1 + Math.floor(Math.random() * size);
    t = performance.now();
    await log.consistencyProof(m, size);
    consistency.push(performance.now() - t);
  }
  await reader.close();
  inclusion.sort((a, b) => a - b);
  consistency.sort((a, b) => a - b);
  child.process.kill('SIGTERM');
  await child.exited;
  const bytes = statSync(dbPath).size + (existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0);
  const r = (x: number): number => +x.toFixed(3);
  return {
    versions,
    providers: shape.providers,
    tools: shape.tools,
    loadSeconds: r(shape.seconds),
    loadPerSecond: Math.round(versions / shape.seconds),
    startupMs: r(startupMs),
    getP50: r(percentile(get, 50)),
    getP99: r(percentile(get, 99)),
    statusP50: r(percentile(status, 50)),
    statusP99: r(percentile(status, 99)),
    searchP50: r(percentile(search, 50)),
    searchP99: r(percentile(search, 99)),
    inclusionProofP50: r(percentile(inclusion, 50)),
    inclusionProofP99: r(percentile(inclusion, 99)),
    consistencyProofP50: r(percentile(consistency, 50)),
    consistencyProofP99: r(percentile(consistency, 99)),
    rssMb: +rss.toFixed(1),
    peakRssMb: +peak.toFixed(1),
    bytesPerVersion: Math.round(bytes / versions),
  };
}

const results: Result[] = [];
for (const versions of sizes) {
  const dir = mkdtempSync(join(tmpdir(), `etdi-scale-${versions}-`));
  const dbPath = join(dir, 'registry.db');
  console.error(`loading ${versions} versions into ${dbPath}`);
  const shape = await load(dbPath, versions);
  console.error(`  loaded in ${shape.seconds.toFixed(1)} s; measuring`);
  const result = await measure(dbPath, versions, shape);
  results.push(result);
  console.log(JSON.stringify(result));
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
const [small, large] = [results[0]!, results[results.length - 1]!];
const checks = [
  { name: `GET version p99 at ${large.versions} <= 2x at ${small.versions}`, ok: large.getP99 <= 2 * small.getP99, detail: `${large.getP99} ms vs ${small.getP99} ms` },
  { name: 'start-up < 2 s', ok: results.every((r) => r.startupMs < 2000), detail: results.map((r) => `${r.versions}: ${r.startupMs.toFixed(0)} ms`).join(', ') },
  { name: 'RSS < 250 MB', ok: results.every((r) => r.peakRssMb < 250), detail: results.map((r) => `${r.versions}: ${r.peakRssMb} MB peak`).join(', ') },
];
console.log(JSON.stringify({ checks }, null, 2));
process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
