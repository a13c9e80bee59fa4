/**
 * Crash safety (issue 9): the registry runs as a child process under sustained publish load and
 * is SIGKILLed at random moments, then restarted. After every kill, with the process dead:
 * - every publish that was acknowledged (2xx received) is in the store with the acknowledged digest;
 * - fsckLog rebuilds the tree from the leaves: every stored node and checkpoint agrees, and the
 *   newest signed checkpoint is of the whole tree (its root is the rebuilt root); every leaf
 *   passes the registry's own cross-check (registryEntryCheck, what fsckRegistry runs);
 * - every checkpoint ever signed (the log's own table) or observed over HTTP is consistent with
 *   every other, checked by the client verifier's CheckpointStore with RFC 9162 proofs;
 * - the store and the log agree: one version.published leaf per version row (same tool, version,
 *   digests, leaf index), one audit row per leaf.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '@etdi/client';
import { generateKeyPair } from '@etdi/protocol';
import { fsckLog, registryEntryCheck, SqliteStore, TransparencyLog } from '@etdi/registry';
import { manifestOf, registrationBody, signed, syntheticDefinition, tokenBody, versionOf, type Provider } from './actors.js';
import { startChild, type ChildRegistry } from './child.js';
import type { FuzzRequest, FuzzResponse } from './fuzz-cases.js';
import { ADMIN_TOKEN, LOG_ORIGIN, ORIGIN, httpSender } from './harness.js';

export interface CrashOptions {
  kills: number;
  /** Concurrent publishers. */
  clients: number;
  /** A kill lands uniformly in [minMs, maxMs] after the restart's load started. */
  minMs: number;
  maxMs: number;
  providers: number;
  toolsPerProvider: number;
  log?: (line: string) => void;
}

export interface CrashRound {
  kill: number;
  ackedTotal: number;
  versions: number;
  logSize: number;
  newestCheckpoint: number | undefined;
  restartMs: number;
  fsckMs: number;
}

export interface CrashReport {
  rounds: CrashRound[];
  acked: number;
  /** Publishes whose answer never came (killed in flight): may or may not be stored. */
  inFlightLost: number;
  checkpointsChecked: number;
  problems: string[];
}

interface Acked {
  toolId: string;
  version: string;
  manifestDigest: string;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

export async function runCrash(options: CrashOptions): Promise<CrashReport> {
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'etdi-crash-'));
  const db = join(dir, 'registry.db');
  const problems: string[] = [];
  const acked: Acked[] = [];
  const observedNotes: string[] = [];
  let inFlightLost = 0;
  let checkpointsChecked = 0;
  const rounds: CrashRound[] = [];
  let verifierKey: string | undefined;
  let checkpoints: CheckpointStore | undefined;

  // providers: registered once (the registrations are durable too), each with its own key
  const providers: (Provider & { token?: string; next: number[] })[] = Array.from({ length: options.providers }, (_, i) => ({
    namespace: `io.crash.p${i}`,
    key: generateKeyPair(),
    next: Array.from({ length: options.toolsPerProvider }, () => 0),
  }));

  let child: ChildRegistry = await startChild(db);
  let send = httpSender(child.url, new Agent({ keepAlive: true, maxSockets: options.clients + 4 }));
  const must = async (r: FuzzRequest): Promise<FuzzResponse> => {
    const res = await send(r);
    if (res.status >= 300) throw new Error(`${r.path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  };
  for (const p of providers)
    await must({ label: 'setup', method: 'POST', path: '/v1/namespaces', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: json(await registrationBody({ origin: ORIGIN, nowMs: Date.now() }, p.namespace, p.key)) });

  const issueTokens = async (): Promise<void> => {
    for (const p of providers) {
      const res = await must({ label: 'setup', method: 'POST', path: '/v1/tokens', headers: { 'content-type': 'application/json' }, body: json(await tokenBody({ origin: ORIGIN, nowMs: Date.now() }, p.namespace, p.key)) });
      p.token = (res.body as { access_token: string }).access_token;
    }
  };

  for (let kill = 1; kill <= options.kills; kill++) {
    await issueTokens();
    // sustained load: each client publishes the next version of a random tool, in a loop
    let stop = false;
    // the kill delay counts from the round's first acknowledgement: on a loaded machine the
    // restarted registry may not answer within the shortest delay, and a round that acknowledged
    // nothing proves nothing
    let firstAck: () => void = () => undefined;
    const acknowledged = new Promise<void>((resolve) => (firstAck = resolve));
    const clients = Array.from({ length: options.clients }, async () => {
      while (!stop) {
        const p = providers[Math.floor(Math.random() * providers.length)]!;
        const t = Math.floor(Math.random() * p.next.length);
        const n = p.next[t]!++;
        const def = syntheticDefinition(`tool_${t}`, n);
        const body = json(await signed(p.key, manifestOf(p.namespace, def, versionOf(n), new Date().toISOString())));
        let res: FuzzResponse;
        try {
          res = await send({ label: 'publish', method: 'POST', path: '/v1/tools', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.token}` }, body });
        } catch {
          inFlightLost++; // killed with the request in flight: no acknowledgement, no promise
          return;
        }
        if (res.status === 201 || res.status === 200) {
          const rec = res.body as { toolId: string; version: string; manifestDigest: string };
          acked.push({ toolId: rec.toolId, version: rec.version, manifestDigest: rec.manifestDigest });
          firstAck();
          // every few acks, read the status: its log evidence carries the newest signed checkpoint
          if (acked.length % 25 === 0) {
            try {
              const st = await send({ label: 'status', method: 'GET', path: `/v1/tools/${rec.toolId}/versions/${rec.version}/status`, headers: {}, body: undefined });
              const note = (st.body as { log?: { checkpoint?: string } }).log?.checkpoint;
              if (typeof note === 'string') observedNotes.push(note);
            } catch {
              return;
            }
          }
        } else if (res.status >= 500) problems.push(`kill ${kill}: publish answered ${res.status} ${JSON.stringify(res.body)}`);
        else if (res.status !== 409) problems.push(`kill ${kill}: publish refused ${res.status} ${JSON.stringify(res.body)}`);
        // a 409 can follow a kill: the version was committed but its 201 never arrived; skip it
      }
    });
    const delay = options.minMs + Math.random() * (options.maxMs - options.minMs);
    await Promise.race([acknowledged, new Promise((r) => setTimeout(r, 30_000))]);
    await new Promise((r) => setTimeout(r, delay));
    child.process.kill('SIGKILL');
    await child.exited;
    stop = true;
    await Promise.all(clients);

    // --- checks, with the process dead --------------------------------------------------------
    const started = performance.now();
    const store = SqliteStore.open({ path: db }); // recovers the WAL, as a restart would
    // the log as the restarted registry opens it (key, origin and checkpoints read back: no write)
    const logOfStore = await TransparencyLog.open(store, { origin: LOG_ORIGIN });
    verifierKey ??= logOfStore.verifierKey();
    checkpoints ??= new CheckpointStore(verifierKey, { origin: LOG_ORIGIN });
    const published = new Map<number, { toolId: string; version: string; manifestDigest: string; definitionDigest: string }>();
    const crossCheck = registryEntryCheck(store);
    const report = await fsckLog(store.tree, {
      origin: LOG_ORIGIN,
      verifierKey,
      onEntry: async (e) => {
        if (e.event?.kind === 'version.published')
          published.set(e.index, { toolId: e.event.toolId, version: e.event.version, manifestDigest: e.event.manifestDigest, definitionDigest: e.event.definitionDigest });
        await crossCheck(e);
      },
    });
    const fsckMs = performance.now() - started;
    if (!report.ok) problems.push(`kill ${kill}: fsck: ${JSON.stringify(report.problems.slice(0, 5))}`);
    if (report.newestCheckpointSize !== report.size)
      problems.push(`kill ${kill}: newest signed checkpoint is of size ${report.newestCheckpointSize}, the tree has ${report.size} leaves`);

    // store and log agree
    const rows = store.db.prepare('SELECT tool_id, version, manifest_digest, definition_digest, leaf_index FROM versions').all() as {
      tool_id: string;
      version: string;
      manifest_digest: string;
      definition_digest: string;
      leaf_index: number;
    }[];
    if (rows.length !== published.size) problems.push(`kill ${kill}: ${rows.length} version rows but ${published.size} version.published leaves`);
    for (const row of rows) {
      const ev = published.get(row.leaf_index);
      if (ev === undefined || ev.toolId !== row.tool_id || ev.version !== row.version || ev.manifestDigest !== row.manifest_digest || ev.definitionDigest !== row.definition_digest)
        problems.push(`kill ${kill}: version ${row.tool_id}@${row.version} does not match leaf ${row.leaf_index}`);
    }
    const audit = (await store.counts()).audit;
    if (audit !== report.size) problems.push(`kill ${kill}: ${audit} audit rows for ${report.size} leaves`);

    // every acknowledged publish survived, with the acknowledged content
    const byKey = new Map(rows.map((r) => [`${r.tool_id}@${r.version}`, r.manifest_digest]));
    for (const a of acked)
      if (byKey.get(`${a.toolId}@${a.version}`) !== a.manifestDigest) problems.push(`kill ${kill}: acknowledged ${a.toolId}@${a.version} is missing or changed`);

    // no two checkpoints ever signed are inconsistent: the log's own table and what clients saw
    const fetchProof = (a: number, b: number): Promise<Uint8Array[]> => logOfStore.consistencyProof(a, b);
    const notes = [...(await store.tree.allCheckpoints()).map((c) => c.note), ...observedNotes.splice(0)];
    for (const note of notes) {
      try {
        await checkpoints.advance(note, fetchProof);
        checkpointsChecked++;
      } catch (error) {
        problems.push(`kill ${kill}: checkpoint refused: ${String(error)}`);
      }
    }
    await store.close();

    const restart = performance.now();
    child = await startChild(db);
    send = httpSender(child.url, new Agent({ keepAlive: true, maxSockets: options.clients + 4 }));
    const round: CrashRound = {
      kill,
      ackedTotal: acked.length,
      versions: rows.length,
      logSize: report.size,
      newestCheckpoint: report.newestCheckpointSize,
      restartMs: performance.now() - restart,
      fsckMs,
    };
    rounds.push(round);
    log(JSON.stringify(round));
  }
  child.process.kill('SIGTERM');
  await child.exited;
  rmSync(dir, { recursive: true, force: true });
  return { rounds, acked: acked.length, inFlightLost, checkpointsChecked, problems };
}
