/**
 * The project's real registry (createApp over a SqliteStore on a temp SQLite file) served on
 * 127.0.0.1:0, and the few provider actions the verifier's end-to-end tests need.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, registrationRequest, signManifest, tokenRequest, type GeneratedKeyPair } from '../../../protocol/index.js';
import { MANIFEST_TYPE, type SignedManifest, type ToolManifest } from '../../../schemas/index.js';
import { createApp, SqliteStore, type TransparencyLog } from '../../../registry/index.js';

export const ORIGIN = 'https://registry.test';
const ADMIN = 'admin-token-for-verifier-tests-0123';

export interface RunningRegistry {
  url: string;
  store: SqliteStore;
  log: TransparencyLog;
  close(): Promise<void>;
  register(namespace: string): Promise<{ key: GeneratedKeyPair; token: string }>;
  /** `token: 'admin'` publishes with the administrator token (log actor `admin:config`). */
  publish(token: string, key: GeneratedKeyPair, namespace: string, definition: Record<string, unknown>, version: string, permissions: string[], issuedAt?: string): Promise<SignedManifest>;
  revokeVersion(toolId: string, version: string): Promise<void>;
  revokeKey(namespace: string, keyId: string, revokedFrom: string): Promise<void>;
}

async function call(url: string, method: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function startRegistry(): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-verifier-registry-'));
  const store = SqliteStore.open({ path: join(dir, 'registry.db') });
  const app = await createApp({ store, config: { origin: ORIGIN, logOrigin: 'registry.test/log', adminToken: ADMIN, requestLog: false, rateLimit: false, errorLog: () => undefined } });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = (): string => new Date().toISOString();
  return {
    url,
    store,
    log: app.registry.ctx.log,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async register(namespace) {
      const key = generateKeyPair();
      await call(url, 'POST', '/v1/namespaces', await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace, issuedAt: now() }, 'admin-grant'), ADMIN);
      const token = await call(url, 'POST', '/v1/tokens', await tokenRequest(key.privateJwk, { registry: ORIGIN, namespace, issuedAt: now() }));
      return { key, token: token.access_token as string };
    },
    async publish(token, key, namespace, definition, version, permissions, issuedAt) {
      const manifest: ToolManifest = {
        type: MANIFEST_TYPE,
        toolId: `${namespace}/${definition.name as string}`,
        version,
        provider: namespace,
        definition: definition as ToolManifest['definition'],
        permissions,
        issuedAt: issuedAt ?? new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      const signed = await signManifest(manifest, [key.privateJwk]);
      await call(url, 'POST', '/v1/tools', signed, token === 'admin' ? ADMIN : token);
      return signed;
    },
    async revokeVersion(toolId, version) {
      await call(url, 'POST', `/v1/tools/${toolId}/versions/${version}/revoke`, { reason: 'vulnerable' }, ADMIN);
    },
    async revokeKey(namespace, keyId, revokedFrom) {
      await call(url, 'POST', `/v1/namespaces/${namespace}/keys/${keyId}/revoke`, { revokedFrom, reason: 'compromised' }, ADMIN);
    },
  };
}
