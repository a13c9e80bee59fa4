/**
 * A registry on a real SQLite file in a temp dir, listening on 127.0.0.1 (port 0), with a
 * keep-alive node:http client. Used by the fuzz and load scripts and the CI-sized tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, startServer, type RegistryConfigInput, type RunningRegistry, type TransparencyLog } from '@etdi/registry';
import type { FuzzRequest, FuzzResponse } from './fuzz-cases.js';

export const ORIGIN = 'https://registry.reliability.test';
export const LOG_ORIGIN = 'registry.reliability.test/log';
export const ADMIN_TOKEN = 'reliability-admin-token-0123456789';

export interface Harness {
  running: RunningRegistry;
  store: SqliteStore;
  /** The running registry's log (kept in `store`). */
  log: TransparencyLog;
  dir: string;
  dbPath: string;
  /** 500s and other unexpected errors the registry logged (must stay empty). */
  errors: string[];
  send: (request: FuzzRequest) => Promise<FuzzResponse>;
  close(): Promise<void>;
}

export async function startHarness(config: RegistryConfigInput = {}, dir = mkdtempSync(join(tmpdir(), 'etdi-reliability-'))): Promise<Harness> {
  const dbPath = join(dir, 'registry.db');
  const store = SqliteStore.open({ path: dbPath });
  const errors: string[] = [];
  const running = await startServer({
    store,
    port: 0,
    config: { origin: ORIGIN, logOrigin: LOG_ORIGIN, adminToken: ADMIN_TOKEN, requestLog: false, rateLimit: false, errorLog: (line) => errors.push(line), shutdownGraceMs: 2_000, ...config },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const send = httpSender(running.url, agent);
  return {
    running,
    store,
    log: running.app.registry.ctx.log,
    dir,
    dbPath,
    errors,
    send,
    close: async () => {
      agent.destroy();
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends a request with node:http (raw bytes exactly as given, no client-side normalisation). */
export function httpSender(baseUrl: string, agent: Agent): (request: FuzzRequest) => Promise<FuzzResponse> {
  const url = new URL(baseUrl);
  return (r) =>
    new Promise<FuzzResponse>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...r.headers };
      if (r.body !== undefined) headers['content-length'] = r.body.length;
      const req = httpRequest({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(r.body);
    });
}
