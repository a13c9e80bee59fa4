import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalBytes, contentHashOf, generateKeyPair, jwkThumbprint, registrationRequest, signDeclarationsManifest, signManifest, toBase64Url } from '@etdi/protocol';
import { readPrivateKeyFile, writePrivateKeyFile } from '@etdi/protocol/node';
import { configFromEnv, DataDirLockedError, databaseForDisplay, DEFAULT_CONFIG, isPostgresUrl, lockDataDir, openStore, publish, publishDeclarations, registerNamespace, startServer, type DataLock, type Principal, type RunningRegistry, type Store } from '@etdi/registry';
import { MANIFEST_TYPE, type Ed25519PrivateJwk, type ToolDefinition } from '@etdi/schemas';
import { optional, parse } from './cli-support/args.js';
import type { Command } from './cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from './cli-support/errors.js';
import type { CliIo } from './cli-support/output.js';
import { readAdminToken } from './cli-support/registry-http.js';

const help = `etdi serve [--demo] [--port <n>] [--host <addr>] [--data <dir>] [--database <url>]
           [--origin <url>] [--log-origin <name>] [--admin-token-file <file>]

Starts the registry on 127.0.0.1. Ctrl-C shuts it down gracefully (in-flight requests and
writes finish, the database is closed).

Its store is SQLite by default (<data dir>/registry.db, WAL, synchronous=FULL): one registry
process; the data directory is locked while it runs (<dir>/registry.lock names its pid), a
second registry on the same directory exits 2, a lock left by a process that died is taken over.
With --database postgres://... (or ETDI_DATABASE_URL) the store is that PostgreSQL database:
start as many registry processes on it as you need, behind a load balancer; they serve one log
(docs/OPERATIONS.md, "Several registry processes").

  --demo                  on first start, register demo namespaces (administrator grant), sign
                          the real MCP tools in test/fixtures/real-tools with a demo key (0600
                          file in the data dir) and publish them, plus a 1.1.0 of read_text_file
                          that asks for more (an escalation to compare in the web interface),
                          and the everything server's tools as a SEP-3140 capability manifest
                          (dev.etdi.demo.sep3140, trust labels from their annotations);
                          on restart, say what is there.
                          Without ETDI_ADMIN_TOKEN or --admin-token-file, creates an administrator
                          token in <dir>/admin-token (0600) and prints the etdi register command
                          that uses it.
  --port <n>              default 8080 (env PORT)
  --host <addr>           default 127.0.0.1
  --data <dir>            default ./data (the SQLite database is <dir>/registry.db; with
                          --demo, the demo key and admin token are kept here on either store)
  --database <url>        a postgres:// URL (or a SQLite file path); default ETDI_DATABASE_URL,
                          else <data dir>/registry.db
  --origin <url>          the registry's origin (JWT iss, statements' registry); default http://<host>:<port>
  --log-origin <name>     the transparency log's checkpoint origin; default etdi-registry.local/log
  --admin-token-file <f>  read the administrator token from this file (first line, >= 16 chars)

Output: start-up lines on stderr, one JSON request-log line per request on stdout (serve is a
long-running process: it has no --json result).

Environment: ETDI_DATABASE_URL, ETDI_ADMIN_TOKEN (administrator bearer token, >= 16 chars), ETDI_ORIGIN,
ETDI_ATTESTATION_AUDIENCE, ETDI_ATTESTATION_TTL (seconds), ETDI_REQUEST_LOG=off,
ETDI_WRITE_WORKER=off (commit publishes on the event loop instead of the write worker thread),
ETDI_DNS_PROOF_SERVERS=1.1.1.1,8.8.8.8 (DNS servers for MCP Registry DNS domain proofs; off
when unset).

Example:
  etdi serve --demo --data ./data --port 8080

Exit codes: 0 after a clean shutdown, 2 when the registry cannot start (usage, the data
directory is locked by another registry, the port is taken).`;

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
export async function seedDemo(running: RunningRegistry, dataDir: string): Promise<{ published: number; existing: number; namespaces: string[]; example: string }> {
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
  let existing = 0;
  let example = '';
  const dir = realToolsDir();
  for (const server of DEMO_SERVERS) {
    const namespace = demoNamespace(server);
    if ((await ctx.store.getNamespace(namespace)) === undefined) {
      await registerNamespace(ctx, admin, await registrationRequest(key, { registry: ctx.config.origin, namespace }, 'admin-grant'));
    }
    const tools = JSON.parse(await readFile(join(dir, `${server}.json`), 'utf8')) as ToolDefinition[];
    for (const definition of tools) {
      const toolId = `${namespace}/${definition.name}`;
      example ||= toolId;
      if ((await ctx.store.getVersion(toolId, '1.0.0')) !== undefined) {
        existing++;
        continue;
      }
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
  if ((await publishDemoUpgrade(ctx, admin, key, dir)) === 1) published++;
  else existing++;
  const declared = await publishDemoDeclarations(ctx, admin, key, dir);
  published += declared.published;
  existing += declared.existing;
  return { published, existing, namespaces: [...DEMO_SERVERS.map(demoNamespace), DEMO_SEP3140.namespace], example };
}

/** The demo's administrator token file: created once (0600), reused on restart. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * Local development needs an administrator (to register a namespace without serving a domain's
 * well-known document). Rather than make the user invent a token and restart, the demo writes a
 * random one next to its database, readable by the owner only, and says how to use it.
 */
async function demoAdminToken(dataDir: string): Promise<{ token: string; path: string }> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(path)) return { token: await readAdminToken(path), path };
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' });
  return { token, path };
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
  if ((await ctx.store.getVersion(toolId, to)) !== undefined) return 0;
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

/** The demo's SEP-3140 server: the reference `everything` server's tools, as its publisher would sign them. */
export const DEMO_SEP3140 = {
  namespace: 'dev.etdi.demo.sep3140',
  publisher: 'https://sep3140.demo.etdi.dev/mcp-publisher.json',
  server: 'https://sep3140.demo.etdi.dev/mcp',
} as const;

/**
 * The trust labels a publisher would declare for a tool, read from its MCP annotations (a
 * publisher's own claim either way: the labels are signed, not proven).
 */
function labelsOf(definition: ToolDefinition): Record<string, unknown> {
  const a = definition.annotations ?? {};
  return {
    effect: a.readOnlyHint === true ? 'read-only' : a.destructiveHint === true ? 'destructive' : 'writes-data',
    egress: a.openWorldHint === true ? 'external' : 'none',
    idempotent: a.idempotentHint === true,
  };
}

/**
 * The SEP-3140 side of the demo: a capability manifest for the `everything` server's tools, signed
 * with the demo key and published through POST /v1/declarations' own service, so the web
 * interface shows both formats. Once: a restart finds the versions (an identical republish).
 */
async function publishDemoDeclarations(ctx: RunningRegistry['app']['registry']['ctx'], admin: Principal, key: Ed25519PrivateJwk, dir: string): Promise<{ published: number; existing: number }> {
  const { namespace, publisher, server } = DEMO_SEP3140;
  if ((await ctx.store.getNamespace(namespace)) === undefined)
    await registerNamespace(ctx, admin, await registrationRequest(key, { registry: ctx.config.origin, namespace }, 'admin-grant'));
  const tools = JSON.parse(await readFile(join(dir, 'everything.json'), 'utf8')) as ToolDefinition[];
  const declarations = tools.map((definition) => {
    const declared = { ...definition, version: '1', trust: labelsOf(definition) };
    return { ...declared, contentHash: contentHashOf(declared) };
  });
  const now = Date.now();
  const manifest = {
    server,
    publisher,
    specVersion: '2025-11-25',
    issuedAt: new Date(now - 1000).toISOString(),
    expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
    nonce: toBase64Url(randomBytes(16)),
    tools: declarations.map((d) => ({ name: d.name, version: d.version, contentHash: d.contentHash })),
  };
  const signed = await signDeclarationsManifest(manifest, key, jwkThumbprint(key));
  const result = await publishDeclarations(ctx, admin, { signed, declarations });
  const created = result.rows.filter((r) => r.created).length;
  return { published: created, existing: result.rows.length - created };
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
        database: { type: 'string' },
        origin: { type: 'string' },
        'log-origin': { type: 'string' },
        'admin-token-file': { type: 'string' },
      },
      false,
    );
    if (values.json === true) throw usage('serve', 'serve is a long-running process and has no --json result (its request log on stdout is JSON lines)');
    const host = optional(values, 'host') ?? '127.0.0.1';
    const portText = optional(values, 'port') ?? io.env.PORT ?? '8080';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage('serve', `--port must be 0-65535, got ${portText}`);
    const dataDir = optional(values, 'data') ?? './data';
    const env = configFromEnv(io.env);
    const say = (line: string): void => void io.stderr.write(line + '\n');

    const database = optional(values, 'database') ?? (io.env.ETDI_DATABASE_URL || join(dataDir, 'registry.db'));
    // a SQLite file has one registry process; a PostgreSQL database has any number (no lock)
    let lock: Pick<DataLock, 'release'> = { release: () => undefined };
    if (!isPostgresUrl(database)) try {
      lock = lockDataDir(dataDir);
    } catch (cause) {
      if (cause instanceof DataDirLockedError) throw new CliError('OPERATIONAL', cause.message, { path: cause.path, holder: cause.holder }, { cause });
      throw new CliError('OPERATIONAL', `cannot lock the data directory ${dataDir}: ${(cause as Error).message}`, { dataDir }, { cause });
    }
    let running: RunningRegistry;
    let adminTokenPath: string | undefined;
    try {
      const adminFile = optional(values, 'admin-token-file');
      if (adminFile !== undefined) env.adminToken = await readAdminToken(adminFile);
      else if (env.adminToken === undefined && values.demo === true) {
        const made = await demoAdminToken(dataDir);
        env.adminToken = made.token;
        adminTokenPath = made.path;
      }
      const logOrigin = optional(values, 'log-origin');
      let store: Store;
      try {
        store = await openStore({ database, logOrigin: logOrigin ?? env.logOrigin ?? DEFAULT_CONFIG.logOrigin });
      } catch (cause) {
        throw new CliError('OPERATIONAL', `cannot open the registry's database ${databaseForDisplay(database)}: ${(cause as Error).message}`, { database: databaseForDisplay(database) }, { cause });
      }
      try {
        running = await startServer({
          store,
          host,
          port,
          config: { ...env, ...(logOrigin === undefined ? {} : { logOrigin }), origin: optional(values, 'origin') ?? env.origin ?? `http://${host}:${port}` },
        });
      } catch (cause) {
        await store.close();
        throw new CliError('OPERATIONAL', `cannot start the registry: ${(cause as Error).message}`, {}, { cause });
      }
    } catch (error) {
      lock.release();
      throw error;
    }
    // Signals are handled from the moment the registry listens (a SIGTERM during the demo's
    // seeding or the start-up lines still shuts down cleanly, exit 0).
    const stopped = new Promise<void>((resolve) => {
      const stop = (): void => {
        say('shutting down…');
        void running.close().then(() => {
          lock.release();
          resolve();
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    if (values.demo === true) {
      const seeded = await seedDemo(running, dataDir);
      const [ns, name] = [seeded.example.slice(0, seeded.example.indexOf('/')), seeded.example.slice(seeded.example.indexOf('/') + 1)];
      // A restart finds the tools already there: say so, rather than "0 published" (reads as a failure).
      if (seeded.published === 0) say(`demo: ${seeded.existing} tools already published in ${seeded.namespaces.join(', ')}, nothing to do`);
      else say(`demo: ${seeded.published} tools published now${seeded.existing > 0 ? ` (${seeded.existing} were already there)` : ''} in ${seeded.namespaces.join(', ')} (signed with ${join(dataDir, 'demo-key.jwk')})`);
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
    if (adminTokenPath !== undefined) {
      say(`administrator token: ${adminTokenPath} (0600; keep it private)`);
      say('register your namespace with it (a key from etdi keygen --out acme.jwk):');
      say(`  etdi register --registry ${running.url} --key acme.jwk --namespace com.acme --admin-token-file ${adminTokenPath}`);
    }
    await stopped;
    return EXIT.OK;
  },
};

