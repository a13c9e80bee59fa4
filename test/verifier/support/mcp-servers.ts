/**
 * Real MCP servers (the SDK's McpServer) whose tools are signed and published in a
 * FixtureRegistry, and a helper that connects a VerifiedClient to them over InMemoryTransport.
 */
import { z } from 'zod';
import { McpServer, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { MANIFEST_META_KEY, type SignedManifest, type VersionBundle } from '../../../schemas/index.js';
import { VerifiedClient, type ToolVerifier, type VerifiedClientOptions } from '../../../client-verifier/index.js';
import type { GeneratedKeyPair } from '../../../protocol/index.js';
import type { FixtureRegistry } from './fixture-registry.js';

export interface ToolSpec {
  name: string;
  description: string;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; openWorldHint?: boolean; idempotentHint?: boolean };
  permissions?: string[];
}

export interface BuiltServer {
  server: McpServer;
  tools: Map<string, RegisteredTool>;
  calls: string[];
}

/** An McpServer with one `query` string parameter per tool; `metas` become each tool's `_meta`. */
export function buildServer(specs: readonly ToolSpec[], metas: ReadonlyMap<string, Record<string, unknown>> = new Map()): BuiltServer {
  const server = new McpServer({ name: 'fixture', version: '1.0.0' });
  const tools = new Map<string, RegisteredTool>();
  const calls: string[] = [];
  for (const spec of specs) {
    const meta = metas.get(spec.name);
    tools.set(
      spec.name,
      server.registerTool(
        spec.name,
        {
          description: spec.description,
          inputSchema: { query: z.string() },
          ...(spec.annotations ? { annotations: spec.annotations } : {}),
          ...(meta ? { _meta: meta } : {}),
        },
        async ({ query }) => {
          calls.push(`${spec.name}:${query}`);
          return { content: [{ type: 'text', text: `${spec.name} ran with ${query}` }] };
        },
      ),
    );
  }
  return { server, tools, calls };
}

const RawList = z.looseObject({ tools: z.array(z.unknown()) });

/** What a server built from `specs` lists, as JSON (the definitions a provider signs). */
export async function listedDefinitions(specs: readonly ToolSpec[]): Promise<Record<string, unknown>[]> {
  const { server } = buildServer(specs);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'probe', version: '1.0.0' });
  await client.connect(clientSide);
  const list = await client.request({ method: 'tools/list', params: {} }, RawList);
  await client.close();
  return JSON.parse(JSON.stringify(list.tools)) as Record<string, unknown>[];
}

export interface SignedServer extends BuiltServer {
  bundles: VersionBundle[];
  signed: Map<string, SignedManifest>;
}

/**
 * Signs (and unless `publish: false`, publishes) each tool of `specs` under `namespace` at
 * `version`, then builds the server with each signed manifest carried in `_meta` (unless
 * `carry: false`).
 */
export async function signedServer(
  reg: FixtureRegistry,
  namespace: string,
  specs: readonly ToolSpec[],
  options: { version?: string; carry?: boolean; signWith?: GeneratedKeyPair; publish?: boolean } = {},
): Promise<SignedServer> {
  const version = options.version ?? '1.0.0';
  const definitions = await listedDefinitions(specs);
  const bundles: VersionBundle[] = [];
  const signed = new Map<string, SignedManifest>();
  for (const [i, def] of definitions.entries()) {
    const spec = specs[i]!;
    const opts = { version, permissions: spec.permissions ?? [], ...(options.signWith ? { signWith: options.signWith } : {}) };
    if (options.publish === false) {
      signed.set(spec.name, await reg.sign(namespace, def, opts));
      continue;
    }
    const record = await reg.publish(namespace, def, opts);
    signed.set(spec.name, record.signedManifest);
    bundles.push(await reg.bundle(record.toolId, version));
  }
  const metas = new Map<string, Record<string, unknown>>();
  if (options.carry !== false) for (const [name, s] of signed) metas.set(name, { [MANIFEST_META_KEY]: s });
  return { ...buildServer(specs, metas), bundles, signed };
}

/** Connects a VerifiedClient to `server` over the SDK's InMemoryTransport. */
export async function connectVerified(server: McpServer, verifier: ToolVerifier, options: Partial<VerifiedClientOptions> = {}): Promise<VerifiedClient> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'host', version: '1.0.0' });
  const verified = new VerifiedClient(client, { verifier, ...options });
  await client.connect(clientSide);
  return verified;
}
