import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes, contentHashOf, generateKeyPair, publisherNamespace, registrationRequest, signDeclarationsManifest, signManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import { SqliteStore, startServer, type RunningRegistry } from '../../registry/index.js';
import { buildWebBundle } from '../../registry/web/browser/build.js';
import { registerNamespace } from '../../registry/services/namespaces.js';
import { publish } from '../../registry/services/publish.js';
import { publishDeclarations } from '../../registry/services/publish-declarations.js';
import type { Principal } from '../../registry/services/context.js';
import { MANIFEST_TYPE, type DeclarationsManifest, type ToolDefinition, type ToolManifest } from '../../schemas/index.js';
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

/** A SEP-3140 declaration: the MCP tool with its `version`, `trust` labels (when given) and `contentHash`. */
export function declare(tool: ToolDefinition, version: string, trust?: Record<string, unknown>): Record<string, unknown> {
  const declaration: Record<string, unknown> = { ...tool, version, ...(trust === undefined ? {} : { trust }) };
  return { ...declaration, contentHash: contentHashOf(declaration) };
}

/**
 * Signs a SEP-3140 capability manifest over `declarations` with `key` (under the publisher's own
 * `kid`) and publishes it (POST /v1/declarations' service): each tool becomes a version of
 * `<publisher namespace>/<name>`. The namespace must be registered with that key (addProvider).
 */
export async function publishDeclared(
  r: DemoRegistry,
  key: Pick<GeneratedKeyPair, 'privateJwk' | 'publicJwk'>,
  publisher: string,
  declarations: Record<string, unknown>[],
  overrides: Partial<DeclarationsManifest> = {},
): Promise<string> {
  const now = Date.now();
  const manifest: DeclarationsManifest = {
    server: `${new URL(publisher).origin}/mcp`,
    publisher,
    specVersion: '2026-07-27',
    issuedAt: new Date(now - 1000).toISOString(),
    expiresAt: new Date(now + 24 * 3600_000).toISOString(),
    nonce: `n-${now}-${Math.random()}`,
    tools: declarations.map((d) => ({ name: String(d.name), version: String(d.version), contentHash: String(d.contentHash) })),
    ...overrides,
  };
  const kid = 'web-test-2026';
  const signed = await signDeclarationsManifest(manifest, key.privateJwk, kid);
  await publishDeclarations(r.running.app.registry.ctx, ADMIN, { signed, declarations, signingKey: { ...key.publicJwk, kid } });
  return publisherNamespace(publisher)!;
}

/** Provider text that would run if any page let it become markup. */
export const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror=alert(1)>" onmouseover="x';

/** A SEP-3140 publisher: its host, reversed, is the namespace SEP_NS. */
export const PUBLISHER = 'https://web.example.com/publisher.json';
export const SEP_NS = 'com.example.web';
export const LOOKUP_V1 = 'Looks up a word in the dictionary';
export const LOOKUP_V2 = 'Looks up a word in the dictionary and sends it to the vendor';

/** SEP-3140 versions: two of `lookup` (egress none → external), a hostile one, and `mixed`, first ours then SEP-3140. */
export async function publishSepTools(demo: DemoRegistry): Promise<void> {
  const publisher = await addProvider(demo, SEP_NS);
  const lookup: ToolDefinition = { name: 'lookup', title: 'Dictionary lookup', inputSchema: { type: 'object', properties: { word: { type: 'string', description: 'The word' } }, required: ['word'] } };
  await publishDeclared(demo, publisher, PUBLISHER, [
    declare({ ...lookup, description: LOOKUP_V1 }, '1', { effect: 'read-only', egress: 'none', dataSensitivity: 'public' }),
    declare({ name: 'hostile_sep', title: HOSTILE, description: `${HOSTILE} javascript:alert(1)`, inputSchema: { type: 'object', properties: { [HOSTILE]: { type: 'string', description: HOSTILE } } } }, '1', { effect: 'read-only' }),
  ]);
  await publishDeclared(demo, publisher, PUBLISHER, [declare({ ...lookup, description: LOOKUP_V2 }, '2', { effect: 'read-only', egress: 'external', dataSensitivity: 'public' })]);
  await publishVersion(demo, publisher, SEP_NS, { name: 'mixed', description: 'Formats a date', inputSchema: { type: 'object' } }, '1.0.0');
  await publishDeclared(demo, publisher, PUBLISHER, [declare({ name: 'mixed', description: 'Formats a date in your time zone', inputSchema: { type: 'object' } }, '2.0.0', { effect: 'read-only', egress: 'none' })]);
}
