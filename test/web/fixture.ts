import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes, generateKeyPair, registrationRequest, signManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import { SqliteStore, startServer, type RunningRegistry } from '../../registry/index.js';
import { buildWebBundle } from '../../registry/web/browser/build.js';
import { registerNamespace } from '../../registry/services/namespaces.js';
import { publish } from '../../registry/services/publish.js';
import type { Principal } from '../../registry/services/context.js';
import { MANIFEST_TYPE, type ToolDefinition, type ToolManifest } from '../../schemas/index.js';
import { seedDemo } from '../../scripts/serve.js';

export const ADMIN: Principal = { role: 'admin', actor: 'admin:web-test' };

let assets: Promise<string> | undefined;

/** The browser script bundled from the current sources, once per test process. */
export function webAssets(): Promise<string> {
  assets ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etdi-web-assets-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await buildWebBundle(dir);
    return dir;
  })();
  return assets;
}

export interface DemoRegistry {
  running: RunningRegistry;
  dir: string;
  dbPath: string;
  url: string;
  /** Stops the server (the data directory stays until `remove`). */
  stop(): Promise<void>;
  remove(): void;
}

/** The demo registry (`etdi serve --demo`'s real tools) on a real SQLite file, over HTTP on 127.0.0.1. */
export async function demoRegistry(options: { port?: number; dir?: string; seed?: boolean } = {}): Promise<DemoRegistry> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'etdi-web-'));
  const dbPath = join(dir, 'registry.db');
  const store = SqliteStore.open({ path: dbPath });
  const running = await startServer({ store, port: options.port ?? 0, config: { logOrigin: 'web.test/log', requestLog: false, webAssetsDir: await webAssets(), writeWorker: 'off' } });
  if (options.seed !== false) await seedDemo(running, dir);
  return {
    running,
    dir,
    dbPath,
    url: running.url,
    stop: () => running.close(),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Registers `namespace` (administrator grant) with a fresh key. */
export async function addProvider(r: DemoRegistry, namespace: string, key: GeneratedKeyPair = generateKeyPair()): Promise<GeneratedKeyPair> {
  const { ctx } = r.running.app.registry;
  await registerNamespace(ctx, ADMIN, await registrationRequest(key.privateJwk, { registry: ctx.config.origin, namespace }, 'admin-grant'));
  return key;
}

/** Signs and publishes one version. */
export async function publishVersion(
  r: DemoRegistry,
  key: Pick<GeneratedKeyPair, 'privateJwk'>,
  namespace: string,
  definition: ToolDefinition,
  version: string,
  extra: Partial<ToolManifest> = {},
): Promise<void> {
  const manifest: ToolManifest = {
    type: MANIFEST_TYPE,
    toolId: `${namespace}/${definition.name}`,
    version,
    provider: namespace,
    definition,
    permissions: ['files:read'],
    issuedAt: new Date().toISOString(),
    ...extra,
  };
  await publish(r.running.app.registry.ctx, ADMIN, canonicalBytes(await signManifest(manifest, [key.privateJwk])));
}
