import { z } from 'zod';
import { DigestSchema, NamespaceSchema, ToolIdSchema, VersionSchema } from './manifest.js';

/**
 * The official MCP Registry's server.json keeps exactly one `_meta` key, and drops any other
 * silently (docs/reference/server-json/official-registry-requirements.md of
 * github.com/modelcontextprotocol/registry); its value, marshalled as JSON, is at most 4096
 * bytes (internal/validators: "publisher-provided extension exceeds 4KB limit").
 */
export const MCP_REGISTRY_PUBLISHER_META_KEY = 'io.modelcontextprotocol.registry/publisher-provided';
export const MCP_REGISTRY_PUBLISHER_META_MAX_BYTES = 4096;

/** Where, inside that one key, etdi's pointer sits (next to whatever else the publisher keeps there). */
export const SERVER_JSON_POINTER_KEY = 'io.etdi/registry';

/**
 * The pointer `etdi server-json` writes: which registry and namespace sign this server's tools,
 * and each tool's version, manifest digest and transparency-log leaf, so that a host that found
 * the server on the MCP Registry can fetch and verify the same versions here.
 */
export const ServerJsonPointerSchema = z.strictObject({
  registry: z.string().min(1).max(512),
  namespace: NamespaceSchema,
  /** The leaf of the namespace's registration in the registry's log. */
  namespaceLeafIndex: z.number().int().min(0),
  tools: z.array(
    z.strictObject({
      toolId: ToolIdSchema,
      version: VersionSchema,
      manifestDigest: DigestSchema,
      leafIndex: z.number().int().min(0),
    }),
  ),
});
export type ServerJsonPointer = z.infer<typeof ServerJsonPointerSchema>;
