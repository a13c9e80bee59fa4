/**
 * The provider side of SEP-3140 for an `McpServer` of the official MCP SDK: every listed tool
 * gains its `version`, `trust` labels and `contentHash`, the server advertises
 * `capabilities.declarations` and answers `declarations/manifest` with a manifest signed by the
 * publisher (a detached JWS over its JCS bytes, protocol/sep3140.ts).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, ListToolsRequestSchema, McpError, type ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  DECLARATIONS_MANIFEST_METHOD,
  DeclarationVersionSchema,
  TrustLabelsSchema,
  type DeclarationEntry,
  type DeclarationsManifest,
  type Ed25519PrivateJwk,
  type SignedDeclarationsManifest,
  type TrustLabels,
} from '@etdi/schemas';
import { canonicalize, contentHashOf, decodeSignedDeclarations, jwkThumbprint, signDeclarationsManifest, toBase64Url } from '@etdi/protocol';

/** What a provider declares about one tool besides what the SDK lists. */
export interface ToolDeclaration {
  /** Monotonically increasing per tool: a decimal integer (`"3"`) or a semver version. */
  version: string;
  /** The SEP-3140 trust labels (closed vocabulary); a label left out reads as most restrictive to clients. */
  trust?: TrustLabels;
}

export interface SignedDeclarationsOptions {
  /** The server's canonical URI (RFC 8707): the manifest's audience. */
  serverUri: string;
  /** The publisher's identity URI (its metadata document), as clients allow-list or pin it. */
  publisher: string;
  /** Every tool the server lists, by name. A listed tool without an entry is an error (a tool is never listed unsigned). */
  tools: Readonly<Record<string, ToolDeclaration>>;
  /**
   * Sign here: the manifest is signed when first asked for and again when the declarations change
   * or a tenth of its lifetime is left. `kid` is the key's name in the publisher's JWKS (default:
   * its RFC 7638 thumbprint). Exactly one of `signer` and `manifest`.
   */
  signer?: { key: Ed25519PrivateJwk; kid?: string };
  /** Or serve a manifest signed elsewhere (`etdi sign --sep3140`), exactly as given. */
  manifest?: SignedDeclarationsManifest;
  /** Lifetime of a manifest signed here, in seconds. Default 86,400 (the SEP: short `expiresAt` bounds a compromised key). */
  lifetimeSec?: number;
  /** The MCP revision the manifest names. Default `2025-11-25`. */
  specVersion?: string;
  now?: () => Date;
}

export interface SignedDeclarations {
  /** The `declarations/manifest` result the server answers now. */
  manifest(): Promise<SignedDeclarationsManifest>;
  /** The tools as the server lists them now (with `version`, `trust`, `contentHash`). */
  declarations(): Promise<Record<string, unknown>[]>;
  /** Declares a new version (or new labels) of a tool; call the SDK's `sendToolListChanged()` after. */
  declare(name: string, declaration: ToolDeclaration): void;
}

/** The SDK's own tools/list handler of an McpServer, as the low-level Server keeps it. */
type RequestHandler = (request: unknown, extra: unknown) => Promise<unknown>;

/**
 * The handler McpServer installed for tools/list. The SDK has no public accessor for it; its
 * Protocol keeps handlers in `_requestHandlers` (a Map by method). Read once, here, with a clear
 * error if an SDK version changes that, rather than re-implementing how McpServer lists tools
 * (its zod to JSON Schema conversion), which would sign something other than what it sends.
 */
function sdkToolsListHandler(server: McpServer): RequestHandler {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, RequestHandler> })._requestHandlers;
  if (!(handlers instanceof Map)) throw new TypeError('addSignedDeclarations: this MCP SDK version keeps its request handlers elsewhere; it is not supported');
  const handler = handlers.get('tools/list');
  if (handler === undefined) throw new TypeError('addSignedDeclarations: register the server\'s tools first (McpServer installs tools/list with the first tool)');
  return handler;
}

const ToolsListResultSchema = z.looseObject({ tools: z.array(z.looseObject({ name: z.string() })) });
const DeclarationsManifestRequestSchema = z.object({ method: z.literal(DECLARATIONS_MANIFEST_METHOD), params: z.optional(z.looseObject({})) });

function checkDeclaration(name: string, declaration: ToolDeclaration): void {
  if (!DeclarationVersionSchema.safeParse(declaration.version).success) throw new RangeError(`tools.${name}.version must be a decimal integer or a semver version, got ${JSON.stringify(declaration.version)}`);
  if (declaration.trust !== undefined && !TrustLabelsSchema.safeParse(declaration.trust).success) throw new RangeError(`tools.${name}.trust is not a SEP-3140 trust block (closed vocabulary)`);
}

const rfc3339 = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Adds SEP-3140 signed declarations to an McpServer whose tools are registered (tools added
 * later are covered too, if declared). Call it before `connect`: the capability is part of the
 * initialize answer.
 */
export function addSignedDeclarations(server: McpServer, options: SignedDeclarationsOptions): SignedDeclarations {
  if ((options.signer === undefined) === (options.manifest === undefined)) throw new TypeError('addSignedDeclarations: give exactly one of signer (sign here) and manifest (signed elsewhere)');
  const presigned = options.manifest === undefined ? undefined : decodeSignedDeclarations(options.manifest);
  const lifetimeSec = options.lifetimeSec ?? 86_400;
  if (!(lifetimeSec > 0)) throw new RangeError('addSignedDeclarations: lifetimeSec must be positive');
  const tools = new Map<string, ToolDeclaration>();
  for (const [name, declaration] of Object.entries(options.tools)) {
    checkDeclaration(name, declaration);
    tools.set(name, { ...declaration });
  }
  const now = options.now ?? ((): Date => new Date());
  const listTools = sdkToolsListHandler(server);
  const labels = [...tools.values()].some((t) => t.trust !== undefined);

  /** The SDK's listing with each tool's declaration added, exactly as it goes on the wire. */
  async function declarations(request: unknown = { method: 'tools/list', params: {} }, extra: unknown = {}): Promise<{ result: Record<string, unknown>; tools: Record<string, unknown>[] }> {
    // The JSON form: the SDK's objects carry `undefined` members that the wire (and JCS) leaves out.
    const result = JSON.parse(JSON.stringify(await listTools(request, extra))) as unknown;
    const parsed = ToolsListResultSchema.parse(result);
    const listed = parsed.tools.map((tool) => {
      const declaration = tools.get(tool.name);
      if (declaration === undefined) throw new McpError(ErrorCode.InternalError, `tool "${tool.name}" has no declared version; declare it before listing it`);
      const { contentHash: _stale, ...rest } = tool;
      const declared: Record<string, unknown> = { ...rest, version: declaration.version, ...(declaration.trust !== undefined ? { trust: declaration.trust } : {}) };
      return { ...declared, contentHash: contentHashOf(declared) };
    });
    return { result: { ...(result as Record<string, unknown>), tools: listed }, tools: listed };
  }

  let signed: { entries: string; manifest: SignedDeclarationsManifest; renewAt: number } | undefined;
  async function manifest(): Promise<SignedDeclarationsManifest> {
    if (presigned !== undefined) return presigned;
    const { key, kid } = options.signer!;
    const { tools: listed } = await declarations();
    const entries: DeclarationEntry[] = listed.map((t) => ({ name: t.name as string, version: t.version as string, contentHash: t.contentHash as string }));
    const entriesKey = canonicalize(entries);
    const at = now();
    if (signed !== undefined && signed.entries === entriesKey && at.getTime() < signed.renewAt) return signed.manifest;
    const body: DeclarationsManifest = {
      server: options.serverUri,
      publisher: options.publisher,
      specVersion: options.specVersion ?? '2025-11-25',
      issuedAt: rfc3339(at),
      expiresAt: rfc3339(new Date(at.getTime() + lifetimeSec * 1000)),
      nonce: toBase64Url(crypto.getRandomValues(new Uint8Array(16))),
      tools: entries,
      prompts: [],
      resources: [],
    };
    const result = await signDeclarationsManifest(body, key, kid ?? jwkThumbprint(key));
    signed = { entries: entriesKey, manifest: result, renewAt: at.getTime() + lifetimeSec * 900 };
    return result;
  }

  server.server.registerCapabilities({ declarations: { signed: true, labels } } as ServerCapabilities);
  server.server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => (await declarations(request, extra)).result as never);
  server.server.setRequestHandler(DeclarationsManifestRequestSchema, async () => (await manifest()) as never);
  return {
    manifest,
    declarations: async () => (await declarations()).tools,
    declare(name, declaration) {
      checkDeclaration(name, declaration);
      tools.set(name, { ...declaration });
    },
  };
}
