/**
 * `npm run reliability:load` (after `npm run build`): 50 concurrent clients mixing reads,
 * searches and publishes against the registry in its own process on 127.0.0.1 for 60 s.
 * Flags: --clients 50 --seconds 60 --providers 50 --tools 20 --rate-limit (the default
 * per-address token bucket; off by default because all 50 clients share 127.0.0.1, so most
 * answers would be the intended 429). Reports p50/p99 per operation; exit 1 on any error other
 * than an intended 4xx/429.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@etdi/protocol';
import { percentile } from '../bench/report.js';
import { booleanFlag, numberFlag } from './support/args.js';
import { manifestOf, registrationBody, signed, syntheticDefinition, tokenBody, versionOf } from './support/actors.js';
import { peakRssMb, startChild } from './support/child.js';
import type { FuzzRequest, FuzzResponse } from './support/fuzz-cases.js';
import { ADMIN_TOKEN, ORIGIN, httpSender } from './support/harness.js';

const clients = numberFlag('clients', 50);
const seconds = numberFlag('seconds', 60);
const providerCount = numberFlag('providers', 50);
const toolsPer = numberFlag('tools', 20);
const rateLimited = booleanFlag('rate-limit');

const dir = mkdtempSync(join(tmpdir(), 'etdi-load-'));
const child = await startChild(join(dir, 'registry.db'), rateLimited ? ['--rate-limit'] : []);
const send = httpSender(child.url, new Agent({ keepAlive: true, maxSockets: clients + 8 }));
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const post = (path: string, body: unknown, auth?: string): FuzzRequest => ({
  label: path,
  method: 'POST',
  path,
  headers: auth ? { 'content-type': 'application/json', authorization: auth } : { 'content-type': 'application/json' },
  body: json(body),
});
const get = (path: string): FuzzRequest => ({ label: path, method: 'GET', path, headers: {}, body: undefined });

// setup: providers with tokens, every tool published once (the read set)
const providers: { namespace: string; key: ReturnType<typeof generateKeyPair>; token: string; next: number[] }[] = [];
for (let i = 0; i < providerCount; i++) {
  const namespace = `io.load.p${i}`;
  const key = generateKeyPair();
  await send(post('/v1/namespaces', await registrationBody({ origin: ORIGIN, nowMs: Date.now() }, namespace, key), `Bearer ${ADMIN_TOKEN}`));
  const tok = await send(post('/v1/tokens', await tokenBody({ origin: ORIGIN, nowMs: Date.now() }, namespace, key)));
  providers.push({ namespace, key, token: (tok.body as { access_token: string }).access_token, next: Array.from({ length: toolsPer }, () => 0) });
}
const published: string[] = [];
for (const p of providers)
  for (let t = 0; t < toolsPer; t++) {
    const n = p.next[t]!++;
    const res = await send(post('/v1/tools', await signed(p.key, manifestOf(p.namespace, syntheticDefinition(`tool_${t}`, n), versionOf(n), new Date().toISOString())), `Bearer ${p.token}`));
    if (res.status !== 201) throw new Error(`setup publish: ${res.status} ${JSON.stringify(res.body)}`);
    published.push(`/v1/tools/${p.namespace}/tool_${t}/versions/${versionOf(n)}`);
  }

type Op = 'get-version' | 'get-latest' | 'status' | 'search' | 'list' | 'publish';
const MIX: [Op, number][] = [
  ['get-version', 0.45],
  ['get-latest', 0.1],
  ['status', 0.1],
  ['search', 0.1],
  ['list', 0.05],
  ['publish', 0.2],
];
const times: Record<Op, number[]> = { 'get-version': [], 'get-latest': [], status: [], search: [], list: [], publish: [] };
const statuses: Record<string, number> = {};
const errors: string[] = [];
const pick = <T>(a: readonly T[]): T => a[Math.floor(Math.random() * a.length)]!;
const words = ['records', 'kind 4', 'summarises', 'tool_1', 'io.load.p3', 'newest', 'zzz-no-match'];

const deadline = performance.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (performance.now() < deadline) {
      let r = Math.random();
      const op = MIX.find(([, w]) => (r -= w) < 0)?.[0] ?? 'get-version';
      let request: FuzzRequest;
      if (op === 'publish') {
        const p = pick(providers);
        const t = Math.floor(Math.random() * toolsPer);
        const n = p.next[t]!++;
        request = post('/v1/tools', await signed(p.key, manifestOf(p.namespace, syntheticDefinition(`tool_${t}`, n), versionOf(n), new Date().toISOString())), `Bearer ${p.token}`);
      } else if (op === 'get-version') request = get(pick(published));
      else if (op === 'get-latest') request = get(pick(published).replace(/versions\/.*$/, 'versions/latest'));
      else if (op === 'status') request = get(`${pick(published)}/status`);
      else if (op === 'search') request = get(`/v1/tools?q=${encodeURIComponent(pick(words))}&limit=20`);
      else request = get('/v1/tools?limit=50');
      const started = performance.now();
      let res: FuzzResponse;
      try {
        res = await send(request);
      } catch (error) {
        errors.push(`${op}: ${String(error)}`);
        continue;
      }
      times[op].push(performance.now() - started);
      statuses[`${op} ${res.status}`] = (statuses[`${op} ${res.status}`] ?? 0) + 1;
      const intended = res.status === 429 || (op === 'publish' && res.status === 409);
      if (res.status >= 300 && !intended) errors.push(`${op} ${request.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
  }),
);
const rss = peakRssMb(child.process.pid!);
child.process.kill('SIGTERM');
await child.exited;
rmSync(dir, { recursive: true, force: true });
const summary = Object.fromEntries(
  Object.entries(times).map(([op, t]) => {
    const s = t.sort((a, b) => a - b);
    return [op, { requests: s.length, perSecond: Math.round(s.length / seconds), p50ms: +percentile(s, 50).toFixed(2), p99ms: +percentile(s, 99).toFixed(2), maxMs: +(s[s.length - 1] ?? NaN).toFixed(1) }];
  }),
);
console.log(JSON.stringify({ clients, seconds, rateLimited, operations: summary, statuses, errors: errors.length, firstErrors: errors.slice(0, 10), serverPeakRssMb: +rss.toFixed(1) }, null, 2));
process.exitCode = errors.length === 0 ? 0 : 1;
