/**
 * SEP-3140 servers for the tests: a real McpServer with @etdi/provider's helper, behind the
 * SDK's StreamableHTTPServerTransport on 127.0.0.1, on the same origin as its RFC 9728 metadata
 * and the publisher's JWKS (real HTTP, real Ed25519 keys). Everything a case changes (the tools,
 * the signer, the served key set, the manifest's audience or clock) is in one mutable `World`;
 * the server is stateless, so every request sees the world as it is now.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { addSignedDeclarations, protectedResourceMetadata, protectedResourceMetadataPath, publisherJwks, type SignedDeclarations } from '../../provider/index.js';
import { contentHashOf, generateKeyPair, jwkThumbprint, signDeclarationsManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import { LOCKFILE_TYPE, type Ed25519PrivateJwk, type Lockfile, type SignedDeclarationsManifest } from '../../schemas/index.js';
import { ToolVerifier, VerifiedClient, type DeclarationsOptions, type VerifiedClientOptions } from '../../client-verifier/index.js';
import { createDiscoveryFetch } from '../../client-verifier/node.js';

export const PUBLISHER = 'https://publisher.example/mcp-publisher.json';
/** The namespace of PUBLISHER (its host, reversed): the tool ids' prefix. */
export const PUBLISHER_NS = 'example.publisher';

export interface DeclaredToolSpec {
  name: string;
  title?: string;
  description: string;
  version: string;
  /** Any value: a hostile server may send labels outside the vocabulary. */
  trust?: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; openWorldHint?: boolean };
}

export interface Signer {
  key: Ed25519PrivateJwk;
  kid: string;
}

export const signerOf = (pair: GeneratedKeyPair, kid = 'pub-1'): Signer => ({ key: pair.privateJwk, kid });

export interface World {
  tools: DeclaredToolSpec[];
  publisher: string;
  signer: Signer;
  /** The keys the JWKS serves. */
  jwks: Signer[];
  /** The manifest's `server`; default the server's own URI. */
  audience?: string;
  /** The signer's clock; default the real one. */
  now?: () => Date;
  lifetimeSec?: number;
  /** Serve this manifest instead of signing (a server that changed a tool without signing again). */
  presigned?: SignedDeclarationsManifest;
  /** The metadata's `resource`; default the server's URI. */
  metadataResource?: string;
  /** The metadata's `mcp_signing_jwks_uri`; default the JWKS on this origin. */
  jwksUri?: string;
  /** Calls the server ran (`name:query`). */
  calls: string[];
}

export function newWorld(tools: DeclaredToolSpec[], signer: Signer = signerOf(generateKeyPair())): World {
  return { tools, publisher: PUBLISHER, signer, jwks: [signer], calls: [] };
}

const TrustSchema = z.looseObject({});

/** The McpServer of a world, with the helper (or, for labels the helper refuses, a hostile server's own signing). */
export function buildDeclaredServer(world: World, serverUri: string): { server: McpServer; declarations: SignedDeclarations } {
  const server = new McpServer({ name: 'sep3140-fixture', version: '1.0.0' });
  for (const spec of world.tools)
    server.registerTool(
      spec.name,
      {
        ...(spec.title !== undefined ? { title: spec.title } : {}),
        description: spec.description,
        inputSchema: { query: z.string() },
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
      },
      async ({ query }) => {
        world.calls.push(`${spec.name}:${query}`);
        return { content: [{ type: 'text', text: `${spec.name} ran with ${query}` }] };
      },
    );
  const vocabulary = world.tools.every((t) => t.trust === undefined || isVocabulary(t.trust));
  const declarations = addSignedDeclarations(server, {
    serverUri: world.audience ?? serverUri,
    publisher: world.publisher,
    tools: Object.fromEntries(world.tools.map((t) => [t.name, { version: t.version, ...(t.trust !== undefined && vocabulary ? { trust: t.trust } : {}) }])),
    ...(world.presigned ? { manifest: world.presigned } : { signer: world.signer }),
    ...(world.now ? { now: world.now } : {}),
    ...(world.lifetimeSec ? { lifetimeSec: world.lifetimeSec } : {}),
  });
  if (!vocabulary) hostileLabels(server, world, serverUri, declarations);
  return { server, declarations };
}

function isVocabulary(trust: Record<string, unknown>): boolean {
  const values: Record<string, readonly unknown[]> = {
    effect: ['read-only', 'writes-data', 'destructive'],
    egress: ['none', 'internal', 'external'],
    dataSensitivity: ['public', 'internal', 'confidential', 'secret'],
    reversible: [true, false],
    idempotent: [true, false],
  };
  return Object.entries(trust).every(([k, v]) => values[k]?.includes(v) === true);
}

/**
 * A server that declares labels outside the vocabulary (the helper refuses to): it lists the
 * helper's declarations with its own trust blocks, hashed and signed as SEP-3140 says, so that
 * the only thing wrong is the label.
 */
function hostileLabels(server: McpServer, world: World, serverUri: string, declarations: SignedDeclarations): void {
  const listed = async (): Promise<Record<string, unknown>[]> =>
    (await declarations.declarations()).map((tool) => {
      const { contentHash: _h, ...rest } = tool;
      const trust = world.tools.find((t) => t.name === tool.name)?.trust;
      const declared = { ...rest, ...(trust !== undefined ? { trust: TrustSchema.parse(trust) } : {}) };
      return { ...declared, contentHash: contentHashOf(declared) };
    });
  server.server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (await listed()) as never }));
  server.server.setRequestHandler(z.object({ method: z.literal('declarations/manifest'), params: z.optional(z.looseObject({})) }), async () => {
    const tools = (await listed()).map((t) => ({ name: t.name as string, version: t.version as string, contentHash: t.contentHash as string }));
    const now = Date.now();
    return (await signDeclarationsManifest(
      { server: serverUri, publisher: world.publisher, specVersion: '2025-11-25', issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), nonce: 'hostile-nonce-0001', tools },
      world.signer.key,
      world.signer.kid,
    )) as never;
  });
}

export interface RunningSepServer {
  world: World;
  /** `http://127.0.0.1:<port>/mcp`: the MCP endpoint and the URI the manifest is bound to. */
  serverUri: string;
  origin: string;
  close(): Promise<void>;
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** The world's server on 127.0.0.1: `/mcp` (Streamable HTTP, stateless), its metadata and the JWKS. */
export async function startSepServer(world: World, extraRoutes: (req: IncomingMessage, res: ServerResponse) => boolean = () => false): Promise<RunningSepServer> {
  let serverUri = '';
  let origin = '';
  const http: Server = createServer((req, res) => {
    if (extraRoutes(req, res)) return;
    const path = new URL(req.url ?? '/', origin).pathname;
    if (req.method === 'GET' && path === protectedResourceMetadataPath(serverUri)) {
      const metadata = protectedResourceMetadata({ serverUri: world.metadataResource ?? serverUri, publisher: world.publisher, jwksUri: world.jwksUri ?? `${origin}/jwks.json` });
      return json(res, metadata);
    }
    if (req.method === 'GET' && path === '/jwks.json') return json(res, publisherJwks(world.jwks));
    if (path !== '/mcp') return void res.writeHead(404).end();
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const { server } = buildDeclaredServer(world, serverUri);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  serverUri = `${origin}/mcp`;
  return {
    world,
    serverUri,
    origin,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** The discovery a test host uses: loopback allowed (the servers are on 127.0.0.1), every other protection on. */
export const testDiscovery = (): DeclarationsOptions['fetch'] => createDiscoveryFetch({ allowLoopback: true, timeoutMs: 5_000 });

export interface Host {
  verifier: ToolVerifier;
  lockfile(): Lockfile;
}

/** A SEP-3140-only host: no registry, discovery with loopback allowed, keys fetched for every manifest. */
export function newHost(options: Partial<DeclarationsOptions> & { lockfile?: Lockfile; cosmeticUpdates?: 'ask' | 'allow'; now?: () => Date } = {}): Host {
  const { lockfile, cosmeticUpdates, now, ...declarations } = options;
  let current: Lockfile = lockfile ?? { type: LOCKFILE_TYPE, tools: {} };
  const verifier = new ToolVerifier({
    declarations: { trust: { trustOnFirstUse: true }, fetch: testDiscovery(), discoveryCacheMs: 0, ...declarations },
    lockfile: current,
    ...(cosmeticUpdates ? { cosmeticUpdates } : {}),
    ...(now ? { now } : {}),
    onLockfileChange: (next) => {
      current = next;
    },
  });
  return { verifier, lockfile: () => current };
}

/** The SDK's client over Streamable HTTP, wrapped by VerifiedClient with the server's URI. */
export async function connectHttp(server: RunningSepServer, host: Host, options: Partial<VerifiedClientOptions> = {}): Promise<{ client: Client; verified: VerifiedClient; close(): Promise<void> }> {
  const client = new Client({ name: 'sep3140-host', version: '1.0.0' });
  const verified = new VerifiedClient(client, { verifier: host.verifier, serverId: 'sep', serverUri: server.serverUri, listingMaxAgeMs: 0, ...options });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.serverUri)));
  return { client, verified, close: () => client.close() };
}

/** The public key's RFC 7638 id (what pins and pinned-key policies name). */
export const keyIdOf = (signer: Signer): string => jwkThumbprint(signer.key);
