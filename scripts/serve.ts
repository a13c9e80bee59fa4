import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalBytes, generateKeyPair, registrationRequest, signManifest } from '@etdi/protocol';
import { readPrivateKeyFile, writePrivateKeyFile } from '@etdi/protocol/node';
import { configFromEnv, RegistryStore, startServer, type RunningRegistry } from '@etdi/registry';
import { registerNamespace } from '@etdi/registry';
import { publish } from '@etdi/registry';
import type { Principal } from '@etdi/registry';
import { MANIFEST_TYPE, type Ed25519PrivateJwk, type ToolDefinition } from '@etdi/schemas';
import { optional, parse } from './cli-support/args.js';
import type { Command } from './cli-support/command.js';
import { CliError, EXIT, type ExitCode } from './cli-support/errors.js';
import type { CliIo } from './cli-support/output.js';

const help = `etdi serve [--demo] [--port <n>] [--host <addr>] [--data <dir>] [--origin <url>] [--log-origin <name>]

Starts the registry (Express over SQLite, WAL, synchronous=FULL) on 127.0.0.1. Ctrl-C shuts it
down gracefully (in-flight requests and writes finish, the database is closed).

  --demo               on first start, register demo namespaces (administrator grant), sign the
                       real MCP tools in test/fixtures/real-tools with a demo key (0600 file in the
                       data dir) and publish them, plus a 1.1.0 of read_text_file that asks for
                       more (an escalation to compare in the web interface). Idempotent on restart.
  --port <n>           default 8080 (env PORT)
  --host <addr>        default 127.0.0.1
  --data <dir>         default ./data (the database is <dir>/registry.db)
  --origin <url>       the registry's origin (JWT iss, statements' registry); default http://<host>:<port>
  --log-origin <name>  the transparency log's checkpoint origin; default etdi-registry.local/log

Environment: ETDI_ADMIN_TOKEN (administrator bearer token, >= 16 chars), ETDI_ORIGIN,
ETDI_ATTESTATION_AUDIENCE, ETDI_ATTESTATION_TTL (seconds), ETDI_REQUEST_LOG=off,
ETDI_WRITE_WORKER=off (commit publishes on the event loop instead of the write worker thread).

Exit codes: 0 after a clean shutdown, 2 when the registry cannot start.`;

const DEMO_SERVERS = ['filesystem', 'memory', 'sequential-thinking', 'everything-allcaps'] as const;

/** test/fixtures/real-tools, from the sources (scripts/) or the build (scripts/dist/). */
function realToolsDir(): string {
  for (const up of ['..', '../..']) {
    const dir = fileURLToPath(new URL(`${up}/test/fixtures/real-tools/`, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new CliError('OPERATIONAL', 'test/fixtures/real-tools not found (run from the project checkout)');
}

const demoNamespace = (server: string): string => `dev.etdi.demo.${server.replace('-allcaps', '')}`;

/** Registers the demo namespaces and publishes the real tools once; a restart finds them and skips. */
export async function seedDemo(running: RunningRegistry, dataDir: string): Promise<{ published: number; namespaces: string[]; example: string }> {
  const { ctx } = running.app.registry;
  const keyPath = join(dataDir, 'demo-key.jwk');
  let key: Ed25519PrivateJwk;
  if (existsSync(keyPath)) key = await readPrivateKeyFile(keyPath);
  else {
    key = generateKeyPair().privateJwk;
    await writePrivateKeyFile(keyPath, key);
  }
  const admin: Principal = { role: 'admin', actor: 'admin:demo-seed' };
  let published = 0;
  let example = '';
  const dir = realToolsDir();
  for (const server of DEMO_SERVERS) {
    const namespace = demoNamespace(server);
    if (ctx.store.getNamespace(namespace) === undefined) {
      await registerNamespace(ctx, admin, await registrationRequest(key, { registry: ctx.config.origin, namespace }, 'admin-grant'));
    }
    const tools = JSON.parse(await readFile(join(dir, `${server}.json`), 'utf8')) as ToolDefinition[];
    for (const definition of tools) {
      const toolId = `${namespace}/${definition.name}`;
      example ||= toolId;
      if (ctx.store.getVersion(toolId, '1.0.0') !== undefined) continue;
      const readOnly = definition.annotations?.readOnlyHint === true;
      const manifest = await signManifest(
        {
          type: MANIFEST_TYPE,
          toolId,
          version: '1.0.0',
          provider: namespace,
          definition,
          permissions: [`${server.replace('-allcaps', '')}:${readOnly ? 'read' : 'write'}`],
          issuedAt: new Date().toISOString(),
        },
        [key],
      );
      await publish(ctx, admin, canonicalBytes(manifest));
      published++;
    }
  }
  published += await publishDemoUpgrade(ctx, admin, key, dir);
  return { published, namespaces: DEMO_SERVERS.map(demoNamespace), example };
}

/** The tool the demo publishes a second version of, and that version. */
export const DEMO_UPGRADE = { toolId: 'dev.etdi.demo.filesystem/read_text_file', from: '1.0.0', to: '1.1.0' } as const;

/**
 * A second version of one demo tool that asks for more (a write permission, readOnlyHint
 * dropped, a new required parameter, a longer description): what the web interface's comparison
 * page and a host's PERMISSION_ESCALATION are about. Published once.
 */
async function publishDemoUpgrade(ctx: RunningRegistry['app']['registry']['ctx'], admin: Principal, key: Ed25519PrivateJwk, dir: string): Promise<number> {
  const { toolId, to } = DEMO_UPGRADE;
  if (ctx.store.getVersion(toolId, to) !== undefined) return 0;
  const tools = JSON.parse(await readFile(join(dir, 'filesystem.json'), 'utf8')) as ToolDefinition[];
  const base = tools.find((t) => `${demoNamespace('filesystem')}/${t.name}` === toolId)!;
  const schema = base.inputSchema as { properties?: Record<string, unknown>; required?: string[] };
  const definition: ToolDefinition = {
    ...base,
    description: `${base.description ?? ''} It also keeps a copy of every file it reads in the given backup directory.`,
    inputSchema: {
      ...base.inputSchema,
      properties: { ...schema.properties, backupDir: { type: 'string', description: 'Directory where a copy of the file is written' } },
      required: [...(schema.required ?? []), 'backupDir'],
    },
    annotations: { ...base.annotations, readOnlyHint: false },
  };
  const namespace = demoNamespace('filesystem');
  const manifest = await signManifest(
    { type: MANIFEST_TYPE, toolId, version: to, provider: namespace, definition, permissions: ['filesystem:read', 'filesystem:write'], issuedAt: new Date().toISOString() },
    [key],
  );
  await publish(ctx, admin, canonicalBytes(manifest));
  return 1;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the registry (--demo seeds signed real MCP tools)',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values } = parse(
      'serve',
      argv,
      {
        demo: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        origin: { type: 'string' },
        'log-origin': { type: 'string' },
      },
      false,
    );
    const host = optional(values, 'host') ?? '127.0.0.1';
    const portText = optional(values, 'port') ?? io.env.PORT ?? '8080';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('USAGE', `--port must be 0-65535, got ${portText}`);
    const dataDir = optional(values, 'data') ?? './data';
    const env = configFromEnv(io.env);
    const store = RegistryStore.open({ path: join(dataDir, 'registry.db'), logOrigin: optional(values, 'log-origin') ?? 'etdi-registry.local/log' });
    let running: RunningRegistry;
    try {
      running = await startServer({
        store,
        host,
        port,
        config: { ...env, origin: optional(values, 'origin') ?? env.origin ?? `http://${host}:${port}` },
      });
    } catch (cause) {
      store.close();
      throw new CliError('OPERATIONAL', `cannot start the registry: ${(cause as Error).message}`, {}, { cause });
    }
    const say = (line: string): void => void io.stderr.write(line + '\n');
    if (values.demo === true) {
      const seeded = await seedDemo(running, dataDir);
      const [ns, name] = [seeded.example.slice(0, seeded.example.indexOf('/')), seeded.example.slice(seeded.example.indexOf('/') + 1)];
      say(`demo: ${seeded.published} tools published now in ${seeded.namespaces.join(', ')} (signed with ${join(dataDir, 'demo-key.jwk')})`);
      say(`registry listening on ${running.url}`);
      say(`web interface: ${running.url}/  (compare: ${running.url}/ui/tools/${DEMO_UPGRADE.toolId}/compare?from=${DEMO_UPGRADE.from}&to=${DEMO_UPGRADE.to})`);
      say('fetch a signed version record:');
      say(`  curl -s ${running.url}/v1/tools/${ns}/${name}/versions/1.0.0`);
      say('check it (revocation status, attestation JWT, log inclusion proof against the signed checkpoint):');
      say(`  curl -s ${running.url}/v1/tools/${ns}/${name}/versions/1.0.0/status`);
    } else {
      say(`registry listening on ${running.url}`);
      say(`web interface: ${running.url}/`);
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        say('shutting down…');
        void running.close().then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return EXIT.OK;
  },
};

